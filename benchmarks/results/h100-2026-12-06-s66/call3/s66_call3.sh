#!/bin/bash
# Sixty-sixth session, call 3 (H100): where pal's D 256 history rows lose to nhd's (8 x 512 over
# 4096: pal 0.75x FA2, nhd 0.88x): ncu of main's (pe landed) pal and nhd kernels and FA2's; then
# the landed form beside FA2 at D 128, three rounds.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
for layout in pal nhd flashinfer-fa2; do
  timeout 130 python3 scripts/ncu_report.py prefill --layout $layout --dim 256 --row 8x512+4096 --out /tmp/ncu-$layout \
    > "$O/ncu256-$layout.txt" 2>&1
  echo "ncu $layout rc $? ($SECONDS s)"
  gzip -c /tmp/ncu-$layout/source.csv > "$O/source256-$layout.csv.gz" 2>/dev/null
done
grep -E "Duration|Tensor|Ipc|Executed Instr|Wavefronts|stalls" "$O"/ncu256-*.txt
timeout $(( 570 - SECONDS )) python3 scripts/prefill_sweep.py --dim 128 --layouts nhd pal --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 \
  --flashinfer fa2 --rounds 3 --label d128 2>&1 | tee "$O/fa2.txt" | grep -E "TFLOP|rror" | tail -30
echo "($SECONDS s)"
