#!/bin/bash
# Twenty-third session, call 2: the Hopper prefill with V on barriers of its own (kvb: an item's
# first S waits for Q and K only, each P V for its V), A/B/A/B against main's kernels on seven
# rows, both layouts (same bits asked), fp8 pools and head dim 64 once, the variant sweep; the
# stamps on kvb (kvbps) beside call 1's on main.
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/kvbps timeout 120 python3 benchmarks/prepared/prefill_stamps.py --rows 16x1024+0 1x4096+0 4x1024+8192 \
  --layouts nhd pal > "$O/stamps.txt" 2>&1
grep -E "nhd|pal|first-tile|producer set-up|Q \+ tile" "$O/stamps.txt"
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
for round in 1 2; do
  for v in mainK kvb; do
    lab=$v; [ $v = mainK ] && lab=main
    if [ $round = 1 ] && [ $v = mainK ]; then cmp="--save /tmp/pm"; else cmp="--compare /tmp/pm"; fi
    PAL_KERNEL_DIR=kv_b/$v timeout 100 $S --label $lab $cmp 2>&1 | tee -a "$O/ab.txt"
  done
done
python3 scripts/ab_verdict.py "$O/ab.txt" --candidates kvb --floor 0.97 --gain 1.01 | tee "$O/choice.txt"
F="python3 scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192 8x512+4096"
for opt in "--dim 64" "--kv-dtype float8_e4m3fn" "--page 1" "--page 64"; do
  tag=$(echo $opt | tr -d ' -')
  PAL_KERNEL_DIR=kv_b/mainK timeout 40 $F $opt --label main --save /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
  PAL_KERNEL_DIR=kv_b/kvb timeout 40 $F $opt --label kvb --compare /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
done
for v in mainK kvb; do
  PAL_KERNEL_DIR=kv_b/$v timeout 90 python3 scripts/variant_sweep.py --ops prefill 2>&1 | grep "^| prefill" | sed "s/^/$v /" | tee -a "$O/variants.txt"
done
echo "end ($SECONDS s)"
