#!/bin/bash
# Session 15, call 4: split-plan knobs (PAL_DECODE_TUNING fill=k: k waves of smaller splits)
# on main's kernels (kv_b/pp = 19e4503) where decode is short of the ceiling: fp8 e4m3 (pal,
# nhd), head dims 64 and 96, MQA (HKV 1).
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site PAL_KERNEL_DIR=kv_b/pp
row() { timeout 90 python3 scripts/decode_sweep.py "$@" 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt; }
for knob in "" fill=2 fill=3; do
  PAL_DECODE_TUNING=$knob row --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 64x4096 --label "fp8 $knob"
done
for knob in "" fill=2; do
  PAL_DECODE_TUNING=$knob row --dim 64 --rows 8x4096 32x4096 --label "d64 $knob"
  PAL_DECODE_TUNING=$knob row --dim 96 --rows 8x4096 32x4096 --label "d96 $knob"
  PAL_DECODE_TUNING=$knob row --heads 32/1 --rows 8x4096 32x4096 --label "mqa $knob"
done
echo "end ($SECONDS s)" | tee -a $O/decode.txt
