#!/bin/bash
# Twenty-third session, call 4: kvb2 (V on barriers of its own as call 2's kvb, but one proxy
# fence a tile, after both waits) A/B/A/B against main's kernels, the same rows and checks.
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
for round in 1 2; do
  for v in mainK kvb2; do
    lab=$v; [ $v = mainK ] && lab=main
    if [ $round = 1 ] && [ $v = mainK ]; then cmp="--save /tmp/pm"; else cmp="--compare /tmp/pm"; fi
    PAL_KERNEL_DIR=kv_b/$v timeout 100 $S --label $lab $cmp 2>&1 | tee -a "$O/ab.txt"
  done
done
python3 scripts/ab_verdict.py "$O/ab.txt" --candidates kvb2 --floor 0.97 --gain 1.01 | tee "$O/choice.txt"
if grep -q "^suite" "$O/choice.txt"; then
  F="python3 scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192 8x512+4096"
  for opt in "--dim 64" "--kv-dtype float8_e4m3fn" "--page 1"; do
    tag=$(echo $opt | tr -d ' -')
    PAL_KERNEL_DIR=kv_b/mainK timeout 40 $F $opt --label main --save /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
    PAL_KERNEL_DIR=kv_b/kvb2 timeout 40 $F $opt --label kvb2 --compare /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
  done
fi
echo "end ($SECONDS s)"
