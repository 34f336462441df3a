#!/bin/bash
# Session 51, call 4: the Hopper prefill's stamps (benchmarks/prepared/prefill-stamps.patch, with
# the consumers' in-loop phases: full-slot wait, turn wait, issue, S wait, softmax, P V wait,
# rescale + pack) on main's kernels (t_cur): pal against nhd at page 16 (D 128, history rows),
# soft-cap 30 against plain (nhd), and pal K in swizzled rows (t_swk, 0.80x in call 1).
# (kv_b/t_cur: main's kernels + benchmarks/prepared/prefill-stamps.patch as committed with this
# file; kv_b/t_swk: that + prefill-pal-swizzled-k.patch, in git history at 1fb50c7.)
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call4.sh $O/
(
  echo "=== t_cur"
  PAL_KERNEL_DIR=kv_b/t_cur timeout 100 python3 benchmarks/prepared/prefill_stamps.py --rows 4x1024+8192 8x512+4096 --layouts nhd pal
  PAL_KERNEL_DIR=kv_b/t_cur timeout 60 python3 benchmarks/prepared/prefill_stamps.py --rows 4x1024+8192 --layouts nhd pal --soft-caps 30
  echo "=== t_swk"
  PAL_KERNEL_DIR=kv_b/t_swk timeout 60 python3 benchmarks/prepared/prefill_stamps.py --rows 4x1024+8192 --layouts pal
) 2>&1 | tee $O/stamps.txt
echo "== stamps done ($SECONDS s)"
echo "call done $SECONDS s"
