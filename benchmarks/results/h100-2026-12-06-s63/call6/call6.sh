#!/bin/bash
# Sixty-third session, call 6: where the portable prefill's pal history rows lose to nhd's
# (236 against 310 TFLOP/s at 4 x 1024 over 8192, H100): ncu of the landed kernels, both layouts.
. scripts/gpu_env.sh || exit 1
export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
for layout in pal nhd; do
  timeout 110 python3 scripts/ncu_report.py prefill --layout $layout --row 4x1024+8192 --out /tmp/ncu-$layout \
    > "$O/ncu-$layout.txt" 2>&1
  echo "ncu $layout rc $? ($SECONDS s)"
  gzip -c /tmp/ncu-$layout/source.csv > "$O/source-$layout.csv.gz" 2>/dev/null
done
grep -E "Duration|Tensor|Ipc|Executed Instr|Excessive|stall" "$O"/ncu-*.txt | head -40
