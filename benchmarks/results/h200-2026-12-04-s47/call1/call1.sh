#!/bin/bash
# Forty-seventh session, call 1: the prepared page-table prefetch (decode-table-prefetch.patch,
# kv_b/tp) against main's kernels in A/B rounds over GQA, MQA and fp8 rows; fp8 MQA on one m-tile
# against two (the rule keeps fp8 on two past an eighth of the SMs, never timed); then memcheck
# on main's kernels with the wheel of 6db46fe (cc91d0b's m-tile rule never ran under memcheck).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py"
export GAIN=0
for group in "gqa:--rows 8x4096 32x4096 1x32768" "mqa:--heads 32/1 --rows 8x4096 64x4096 256x1024" \
  "fp8:--kv-dtype float8_e4m3fn --rows 8x4096 32x4096"; do
  bash scripts/ab_rounds.sh "$O/ab-${group%%:*}.txt" "$S --layouts pal nhd ${group#*:}" mainK tp | grep -v "^read" | tail -14
done
echo "== fp8 MQA m-tiles ($SECONDS s)"
for m in 1 2; do
  PAL_DECODE_TUNING=m_tiles=$m timeout 40 $S --layouts nhd pal --heads 32/1 --kv-dtype float8_e4m3fn --rows 32x4096 64x4096 128x2048 --label "m_tiles=$m" 2>&1 | grep -v "^$" | grep -v "^read" | tail -7
done
echo "== memcheck ($SECONDS s)"
bash scripts/kernel_suite.sh crates/pal-core/kernels $((590 - SECONDS)) memcheck
echo "call done $SECONDS s"
