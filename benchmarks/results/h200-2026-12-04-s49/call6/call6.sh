#!/bin/bash
# Session 49, call 6: the landed wheel's soft-capped and ALiBi prefill against plain, four rounds
# in one process each (issue 14 asks 1.10x).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call6.sh $O/
for round in 1 2 3 4; do
  timeout 60 python3 scripts/variant_sweep.py --ops prefill --layouts nhd pal --variants soft-cap alibi 2>&1 | grep -E "^\| prefill|rror" | sed "s/^/r$round /"
done | tee $O/sweep.txt
echo "call done $SECONDS s"
