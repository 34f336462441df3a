#!/bin/bash
# Session 40, call 3 (timing, for the next session): the wgmma float32 decode with the first
# tile's copies issued before Q's prologue and its page ids read beside the length (kv_b/pro)
# against the landed folder, MQA rows, two rounds, same bits; then the float32 decode tests on it.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
sweep() { timeout 70 python3 scripts/decode_sweep.py "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-200; }
for round in 1 2; do
  for d in crates/pal-core/kernels kv_b/pro; do
    c="--compare $O/a"; [ $round$d = 1crates/pal-core/kernels ] && c="--save $O/a"
    PAL_KERNEL_DIR=$d sweep --dtype float32 --heads 32/1 --rows 32x4096 64x4096 128x2048 --layouts nhd pal --label r$round-$(basename $d) $c
  done
done 2>&1 | tee $O/sweep.txt
rm -rf $O/a
PAL_KERNEL_DIR=kv_b/pro timeout 120 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py -k "float32" 2>&1 | tail -3 | tee $O/tests.txt
