#!/bin/bash
# Session 48, call 3: the final wheel (head dim 64 on two KV heads past two pairs an SM; two
# warps where four do not fit a CTA): head dim 64 by the default rule and kv_heads=1 beside, then
# the whole pytest suite.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call3.sh $O/
for knobs in "" kv_heads=1; do
  PAL_DECODE_TUNING=$knobs timeout 60 python3 scripts/decode_sweep.py --layouts nhd --rows 8x4096 32x4096 64x4096 128x2048 256x1024 --dim 64 --label "${knobs:-default}" 2>&1 | grep -E "kernel |rror" | cut -c1-150
done | tee $O/d64.txt
echo "== ($SECONDS s)"
bash scripts/kernel_suite.sh crates/pal-core/kernels $((585 - SECONDS)) pytest
echo "call done $SECONDS s"
