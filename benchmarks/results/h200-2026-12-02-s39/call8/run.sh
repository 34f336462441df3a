#!/bin/bash
# Session 39, call 8 (timing only, for the next session): the split merge with MERGE_AHEAD 8
# (kv_b/mg: 64 registers against 159, so 512 merge CTAs fit one wave) against v25 (kv_b/pqp).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
sweep() { timeout 60 python3 scripts/decode_sweep.py "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-200; }
for round in 1 2; do
  for d in pqp mg; do
    c="--compare $O/a"; [ $round$d = 1pqp ] && c="--save $O/a"
    PAL_KERNEL_DIR=kv_b/$d sweep --dtype float32 --heads 32/1 --rows 32x4096 64x4096 128x2048 --layouts nhd --label r$round-$d $c
    c="--compare $O/b"; [ $round$d = 1pqp ] && c="--save $O/b"
    PAL_KERNEL_DIR=kv_b/$d sweep --dtype bfloat16 --heads 32/8 --rows 8x4096 1x32768 32x4096 --layouts nhd --label r$round-$d $c
    c="--compare $O/c"; [ $round$d = 1pqp ] && c="--save $O/c"
    PAL_KERNEL_DIR=kv_b/$d sweep --dtype bfloat16 --heads 32/1 --rows 8x4096 1x32768 --layouts nhd --label r$round-$d $c
  done
done 2>&1 | tee $O/sweep.txt
rm -rf $O/a $O/b $O/c
for d in pqp mg; do echo "== $d"; PAL_KERNEL_DIR=kv_b/$d timeout 100 python3 kv_b/gaps.py 2>&1 | grep "do_bench"; done | tee $O/gaps.txt
