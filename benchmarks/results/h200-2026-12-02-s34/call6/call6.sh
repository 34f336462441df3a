#!/bin/bash
# Session 34 call 6 (profile only): the tensor-core decode under ncu, to see whether its page ids
# (read one tile before their copies, as v19's float32 kernel did) stall it as they did there.
. scripts/gpu_env.sh || exit 1
for c in "nhd 32x4096 -" "pal 8x4096 -" "nhd 32x4096 float8_e4m3fn"; do
  set -- $c; kv=""; [ "$3" != - ] && kv="--kv-dtype $3"
  name=ncu-$1-$2-$3
  timeout 60 python3 scripts/ncu_report.py decode --layout $1 --row $2 $kv --out /tmp/$name > $O/$name.txt 2>&1
  echo "== $c ($SECONDS s)"; head -13 $O/$name.txt | cut -c1-160; grep -A7 "warp stall samples" $O/$name.txt
done
