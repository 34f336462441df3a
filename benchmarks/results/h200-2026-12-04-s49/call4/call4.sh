#!/bin/bash
# Session 49, call 4: the bounded soft-cap's exponentials partly on the FMA pipe (a degree-3 fit of
# 2^f, 1e-4 relative; kv_b/px/pN: every Nth key block of unmasked tiles, p0 = main): the soft-cap
# tests on p1 (every block), then plain and soft-cap 30 prefill, three rounds of each folder.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call4.sh $O/  # (p2's change: exp2-poly-p2.patch beside this script; p4 / p1 change the block test's 2)
PAL_KERNEL_DIR=kv_b/px/p1 timeout 120 python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_variants.py -k "cuda and (soft_caps_near or (prefill_variants and soft_cap))" > $O/tests.txt 2>&1; echo "tests rc $? ($SECONDS s)"; tail -2 $O/tests.txt
for round in 1 2 3; do
  for v in p0 p4 p2 p1; do
    PAL_KERNEL_DIR=kv_b/px/$v timeout 60 python3 scripts/variant_sweep.py --ops prefill --layouts nhd pal --variants soft-cap 2>&1 | grep -E "^\| prefill|rror" | sed "s/^/$v r$round /"
  done
done | tee $O/sweep.txt
echo "call done $SECONDS s"
