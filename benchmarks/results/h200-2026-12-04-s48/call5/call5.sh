#!/bin/bash
# Session 48, call 5: head dim 64 on two KV heads (the landed rule) against one head where the
# rule also applies and calls 3-4 did not time: HQ 64 / HKV 8 (both groups fill the m-tile),
# float16, HKV 16 (GQA 2), at 64 x 4096 and 128 x 2048.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call5.sh $O/
for case in "--heads 64/8" "--dtype float16" "--heads 32/16"; do
  for knobs in "" kv_heads=1; do
    PAL_DECODE_TUNING=$knobs timeout 50 python3 scripts/decode_sweep.py --layouts nhd --dim 64 --rows 64x4096 128x2048 $case --label "${knobs:-default}" 2>&1 | grep -E "kernel |rror" | cut -c1-150
  done
done | tee $O/d64c.txt
echo "call done $SECONDS s"
