#!/bin/bash
# A call script (forty-third session; no machine could be started for it then, not yet run): fp8
# pal pages of 32 with the step block's V read offsets taken once a tile (four a lane, then 1024
# bytes per four dim blocks; kv_b/fp8v: main's kernels with decode-fp8-box-offsets.patch) against
# main's (kv_b/mainK), two rounds (scripts/ab_rounds.sh); the whole suite and memcheck at once on
# it in the rest of the call where it wins.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py --layouts pal --kv-dtype float8_e4m3fn --page 32 --rows 8x4096 32x4096 64x4096 1x32768"
bash scripts/ab_rounds.sh "$O/ab-fp8p32.txt" "$S" mainK fp8v | grep -v "^read" | sed 's/hq32.hkv8 //'
echo "== ($SECONDS s)"
if head -1 "$O/ab-fp8p32.txt.verdict" | grep -q "^suite"; then
  bash scripts/kernel_suite.sh kv_b/fp8v $((465 - SECONDS)) tests
fi
echo "call done $SECONDS s"
