#!/bin/bash
# Session 48, call 2: head dim 64 (bf16, HQ 32 / HKV 8, nhd, page 16) on two KV heads a CTA with
# three or two stages against one head, two rounds, outputs compared bit for bit with one head's;
# FlashInfer and pal beside in round 1; head dim 256 on two warps (the 99 KB form) against four.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call2.sh $O/
S="python3 scripts/decode_sweep.py --dim 64 --rows 8x4096 32x4096 64x4096 128x2048 256x1024 1x32768"
for r in 1 2; do
  for knobs in "" kv_heads=2 kv_heads=2,stages=2; do
    extra=""; cmp="--compare $O/ref"
    [ "$r$knobs" = 1 ] && extra="--flashinfer --layouts nhd pal" && cmp="--save $O/ref"
    [ -z "$extra" ] && extra="--layouts nhd"
    PAL_DECODE_TUNING=$knobs timeout 120 $S $extra $cmp --label "r$r-${knobs:-default}" 2>&1 | grep -E "kernel |rror|flashinfer" | cut -c1-220
  done
done | tee $O/d64.txt
echo "d64 done $SECONDS s"
for knobs in "" warps=2; do
  PAL_DECODE_TUNING=$knobs timeout 90 python3 scripts/decode_sweep.py --dim 256 --rows 8x4096 32x4096 --layouts nhd pal --label "d256-${knobs:-default}" 2>&1 | grep -E "kernel |rror" | cut -c1-200
done | tee $O/d256.txt
rm -rf $O/ref
