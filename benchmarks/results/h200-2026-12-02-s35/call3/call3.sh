#!/bin/bash
# Session 35, call 3: fp8 decode CTAs of six warps (PAL_DECODE_TUNING=warps=6,min_ctas=2) against
# main's four on fuller grids, other head dims / pages / formats, alternating rounds.
. scripts/gpu_env.sh || exit 1
run() {  # label tuning args...
  l=$1 t=$2; shift 2
  PAL_DECODE_TUNING=$t timeout 150 python3 scripts/decode_sweep.py --label $l "$@" 2>&1 | grep -E "us|rror" >> $O/w6.txt
}
for r in 1 2; do
  for c in main: w6:warps=6,min_ctas=2; do
    n=${c%%:*} t=${c#*:}
    run $n "$t" --kv-dtype float8_e4m3fn --rows 48x4096 52x4096 96x4096 128x2048 256x1024
    run $n "$t" --kv-dtype float8_e4m3fn --rows 64x4096 --dim 64
    run $n "$t" --kv-dtype float8_e4m3fn --rows 64x4096 --page 4
    run $n "$t" --kv-dtype float8_e4m3fn --rows 64x4096 --page 32
    run $n "$t" --kv-dtype float8_e5m2 --rows 64x4096
    run $n "$t" --kv-dtype float8_e4m3fn --rows 64x4096 --heads 64/8
  done
  echo "round $r $SECONDS s"
done
python3 scripts/ab_verdict.py $O/w6.txt --baseline main --candidates w6 --floor 0.9 --gain 1.0
grep -h "^main" $O/w6.txt | head -16
