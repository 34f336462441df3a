#!/bin/bash
# Session 48, call 6: head dim 64 at 8 / 32 x 4096 (the rows that keep one head): two heads
# unsplit (min_split=4096: 32 x 4096 is 128 CTAs, no merge) or split by fill=2, against one head,
# two rounds.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call6.sh $O/
for r in 1 2; do
  for knobs in "" kv_heads=2 kv_heads=2,min_split=4096 kv_heads=2,fill=2 min_split=4096; do
    PAL_DECODE_TUNING=$knobs timeout 50 python3 scripts/decode_sweep.py --layouts nhd --dim 64 --rows 8x4096 32x4096 --label "r$r-${knobs:-default}" 2>&1 | grep -E "kernel |rror" | cut -c1-150
  done
done | tee $O/d64d.txt
echo "call done $SECONDS s"
