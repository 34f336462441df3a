#!/bin/bash
# Session 36, call 9: decode_tf32 score chains: v4 (8 chains, each product's small terms in
# accumulators of their own), v5 (v4 and P V's small terms apart too) against v2 (main).
. scripts/gpu_env.sh || exit 1
sweep() { timeout 60 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel"; }
for round in 1 2; do
  for v in v2 v4 v5; do
    if [ $v = v2 ]; then unset PAL_KERNEL_DIR; else export PAL_KERNEL_DIR=kv_b/tf32_$v; fi
    sweep --heads 32/1 --rows 8x4096 32x4096 64x4096 --layouts nhd pal --label "r$round-$v-mqa"
    [ $round = 1 ] && sweep --heads 32/2 --rows 32x4096 --label "r$round-$v-g16"
  done
done 2>&1 | tee $O/sweep.txt
