#!/bin/bash
# Twenty-fourth session, call 5 (main's wheel, c69b8b6): ncu of the Hopper prefill's history
# rows where `pal` trails FA3 most (pages 8 and 4: 0.84 / 0.63x) beside `nhd` at page 8 (1.01x).
. scripts/gpu_env.sh || exit 1
for c in "pal 8" "pal 4" "nhd 8"; do
  set -- $c
  timeout 70 python3 scripts/ncu_report.py prefill --layout $1 --page $2 --row 4x1024+8192 --out "$O/$1-p$2" 2>&1 | head -45
  echo "== $1 page $2 done ($SECONDS s)"
done
