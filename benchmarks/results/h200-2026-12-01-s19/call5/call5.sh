#!/bin/bash
# Nineteenth session, call 5: why the Hopper prefill runs long-history rows at 300 TFLOP/s (FA3
# 460-530): ncu details of 1x512+32768 against 4x1024+8192, and schedule / ring knobs timed.
export PYTHONUNBUFFERED=1
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py --layouts nhd"
R="--rows 1x512+32768 4x128+32768 4x1024+8192 16x1024+0"
(
timeout 40 $S $R --label default 2>&1
PAL_PREFILL_TUNING=persistent=0 timeout 40 $S $R --label persistent=0 2>&1
PAL_PREFILL_TUNING=stages=2 timeout 40 $S $R --label stages=2 2>&1
PAL_PREFILL_TUNING=splits=2 timeout 40 $S $R --label splits=2 2>&1
) > "$O/knobs.txt"
grep TFLOP "$O/knobs.txt"
for row in long:1x512+32768 hist:4x1024+8192; do
  timeout 150 python3 scripts/ncu_report.py prefill --layout nhd --row ${row#*:} --out $O/ncu_${row%%:*} > $O/ncu_${row%%:*}.txt 2>&1
  grep -E "SM Frequency|SM Active Cycles|Elapsed Cycles|Achieved Occupancy|Achieved Active Warps|Duration|Tensor|No Eligible|Active Warps Per Scheduler|Eligible Warps" $O/ncu_${row%%:*}/details.txt | head -20
done
echo "done $SECONDS s"
