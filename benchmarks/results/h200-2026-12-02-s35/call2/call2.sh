#!/bin/bash
# Session 35, call 2: PAL_DECODE_TUNING shapes of the tensor-core decode, alternating rounds.
# fp8 e4m3 (165 registers: 6 warps x 2 CTAs fit the register file where 4 x 3 leave 8 warps an
# SM at 256 CTAs) and bf16 (6 warps x 2 stages: 12 warps an SM).
. scripts/gpu_env.sh || exit 1
run() {  # file label tuning args...
  f=$1 l=$2 t=$3; shift 3
  PAL_DECODE_TUNING=$t timeout 150 python3 scripts/decode_sweep.py --label $l "$@" 2>&1 | grep -E "us|rror" >> $O/$f
}
for r in 1 2; do
  for c in main: w6:warps=6 w5:warps=5 w6s4:warps=6,stages=4 w8m2:warps=8,min_ctas=2 ev300:evict=300; do
    run fp8.txt ${c%%:*} "${c#*:}" --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 64x4096
  done
  for c in main: w6s2:warps=6,stages=2 w5s2:warps=5,stages=2; do
    run bf16.txt ${c%%:*} "${c#*:}" --rows 8x4096 32x4096
  done
  echo "round $r $SECONDS s"
done
python3 scripts/ab_verdict.py $O/fp8.txt --baseline main --candidates w6 w5 w6s4 w8m2 ev300 --floor 0.9 --gain 1.0
python3 scripts/ab_verdict.py $O/bf16.txt --baseline main --candidates w6s2 w5s2 --floor 0.9 --gain 1.0
grep -h " main \|main pal\|main nhd" $O/fp8.txt | head -6
