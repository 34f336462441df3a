#!/bin/bash
# Session 39, call 4: v25 (kv_b/pqp) against xb (v25 with the maxima's exchange read in one
# batch: ncu of v25 put 6% of its stall samples on the FMNMX after each one-at-a-time read), two
# rounds; the whole suite and memcheck on xb only if it wins (mean ratio >= 1.01).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
sweep() { timeout 40 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-200; }
R="--heads 32/1 --rows 32x4096 64x4096 128x2048 --layouts nhd pal"
for round in 1 2; do
  c="--compare $O/m"; [ $round = 1 ] && c="--save $O/m"
  PAL_KERNEL_DIR=kv_b/pqp sweep $R --label r$round-v25 $c
  PAL_KERNEL_DIR=kv_b/xb sweep $R --label r$round-xb --compare $O/m
done 2>&1 | tee $O/sweep.txt; el sweep; rm -rf $O/m
win=$(python3 - $O/sweep.txt <<'PY'
import re, sys, collections
t = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"r\d-(\w+) (\w+ \S+) .*kernel ([\d.]+) us", line)
    if m: t[(m[1], m[2])].append(float(m[3]))
r = [sum(t[("v25", k)]) / sum(t[("xb", k)]) for (v, k) in t if v == "xb" and ("v25", k) in t]
print("mean ratio %.3f over %d rows" % (sum(r) / len(r), len(r)), file=sys.stderr)
print(1 if r and sum(r) / len(r) >= 1.01 and len(r) == 6 else 0)
PY
)
el "win=$win"
[ "$win" = 1 ] && bash scripts/kernel_suite.sh kv_b/xb 470
