#!/bin/bash
# Forty-fourth session, call 1: the forty-third session's prepared fp8 box-offsets patch
# (kv_b/fp8v) against main's kernels (kv_b/mainK), two rounds; the whole pytest suite on it
# where it wins (memcheck in a later call).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
S="python3 scripts/decode_sweep.py --layouts pal --kv-dtype float8_e4m3fn --page 32 --rows 8x4096 32x4096 64x4096 1x32768"
bash scripts/ab_rounds.sh "$O/ab-fp8p32.txt" "$S" mainK fp8v | grep -v "^read" | sed 's/hq32.hkv8 //'
echo "== ($SECONDS s)"
if head -1 "$O/ab-fp8p32.txt.verdict" | grep -q "^suite"; then
  bash scripts/kernel_suite.sh kv_b/fp8v $((585 - SECONDS)) pytest
fi
echo "call done $SECONDS s"
