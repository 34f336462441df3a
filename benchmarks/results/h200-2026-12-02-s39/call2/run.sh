#!/bin/bash
# Session 39, call 2: the whole GPU suite and memcheck on pqp (v24 + Q in 16-byte loads + pal copy
# bases: the form to land) with the partial-groups host wheel and its test shapes; then v24 vs pqp
# on rows call 1 did not cover, while time is left.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
bash scripts/kernel_suite.sh kv_b/pqp 470
sweep() { timeout 30 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-200; }
{ for P in "--page 2 --layouts hnd pal" "--page 1 --dim 64 --layouts nhd pal" "--page 64 --layouts hnd pal"; do
    X="--heads 32/1 --rows 32x4096 64x4096 $P"
    PAL_KERNEL_DIR=kv_b/v24 sweep $X --label "v24 $P" --save $O/x
    PAL_KERNEL_DIR=kv_b/pqp sweep $X --label "pqp $P" --compare $O/x; rm -rf $O/x
  done; } 2>&1 | tee $O/sweep_more.txt
