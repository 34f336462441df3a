#!/bin/bash
# Sixty-fifth session, call 5 (H100): where pal's history rows lose to FA2 (8 x 512 over 4096,
# D 128: pal 0.84x, nhd 0.95x): ncu of the landed pal and nhd kernels and of FA2's on that row.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
for layout in pal nhd flashinfer-fa2; do
  timeout 150 python3 scripts/ncu_report.py prefill --layout $layout --row 8x512+4096 --out /tmp/ncu-$layout \
    > "$O/ncu-$layout.txt" 2>&1
  echo "ncu $layout rc $? ($SECONDS s)"
  gzip -c /tmp/ncu-$layout/source.csv > "$O/source-$layout.csv.gz" 2>/dev/null
done
grep -E "Duration|Tensor|Ipc|Executed Instr|L2 Cache|DRAM|stalls" "$O"/ncu-*.txt
