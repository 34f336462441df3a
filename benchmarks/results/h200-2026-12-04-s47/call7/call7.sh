#!/bin/bash
# Forty-seventh session, call 7: two KV heads a CTA (the landed default) against one over what
# call 5 did not time: nhd pages of 1 / 4 / 8 at head dim 96, MHA and HQ 64 / HKV 8 at head dims
# 80 / 112, float16.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py --layouts nhd --rows 8x4096 32x4096"
for case in "--dim 96 --page 1" "--dim 96 --page 4" "--dim 96 --page 8" "--dim 80 --heads 32/32" \
  "--dim 112 --heads 64/8" "--dim 112 --dtype float16"; do
  for knobs in "" kv_heads=1; do
    PAL_DECODE_TUNING=$knobs timeout 50 $S $case --label "${knobs:-default}" 2>&1 | grep -v "^read" | grep -v "^$" | tail -2
  done
done
echo "call done $SECONDS s"
