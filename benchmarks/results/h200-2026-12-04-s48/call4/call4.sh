#!/bin/bash
# Session 48, call 4: memcheck on the final wheel (its three workloads with the Rust example,
# the new head dim 64 test among them), then head dim 64 MHA and pages of 1 / 4 with the default
# rule and kv_heads=1 beside.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call4.sh $O/
bash scripts/kernel_suite.sh crates/pal-core/kernels 420 memcheck
for case in "--heads 32/32 --rows 8x4096 32x4096" "--page 1 --rows 64x4096" "--page 4 --rows 64x4096"; do
  for knobs in "" kv_heads=1; do
    PAL_DECODE_TUNING=$knobs timeout 40 python3 scripts/decode_sweep.py --layouts nhd --dim 64 $case --label "${knobs:-default}" 2>&1 | grep -E "kernel |rror" | cut -c1-150
  done
done | tee $O/d64b.txt
echo "call done $SECONDS s"
