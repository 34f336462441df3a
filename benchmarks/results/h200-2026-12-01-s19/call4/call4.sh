#!/bin/bash
# Nineteenth session, call 4: the final wheel's split rows (default, splits=1, portable), then ncu
# of the Hopper prefill on a long-history row against a history row it runs at FA3 speed.
export PYTHONUNBUFFERED=1
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py"
R="--rows 1x128+32768 2x128+32768 1x64+65536 4x128+32768 1x512+32768 4x1024+8192"
(
timeout 60 $S $R --label default 2>&1
PAL_PREFILL_TUNING=splits=1 timeout 60 $S $R --label nosplit 2>&1
PAL_PREFILL_PATH=portable timeout 60 $S $R --label portable 2>&1
PAL_PREFILL_PATH=portable PAL_PREFILL_TUNING=splits=1 timeout 60 $S $R --label portable-nosplit 2>&1
) > "$O/split_sweep.txt"
grep -E "TFLOP" "$O/split_sweep.txt"; echo "sweep $SECONDS s"
for row in 1x512+32768 4x1024+8192; do
  timeout 150 python3 scripts/ncu_report.py prefill --layout nhd --row $row --out $O/ncu-$row > $O/ncu-$row.txt 2>&1
  head -40 $O/ncu-$row.txt
done
echo "ncu $SECONDS s"
