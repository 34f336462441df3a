#!/bin/bash
# Twenty-sixth session, call 3 (main's wheel after the page-2 landing, 0ef5154): ncu of the
# Hopper prefill's pal history rows at pages 2 / 4 / 8 (0.60-0.64 / 0.83-0.84 / 0.92-0.93x FA3 in
# call 1): where the small pages lose since their values came in pool order.
. scripts/gpu_env.sh || exit 1
for c in "pal 2" "pal 4" "pal 8"; do
  set -- $c
  timeout 80 python3 scripts/ncu_report.py prefill --layout $1 --page $2 --row 4x1024+8192 --out "$O/$1-p$2" 2>&1 | tail -75
  gzip -f "$O/$1-p$2/source.csv"
  echo "== $1 page $2 done ($SECONDS s)"
done
