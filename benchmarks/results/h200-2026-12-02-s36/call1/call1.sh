#!/bin/bash
# Session 36, call 1: the float32 TF32 decode (decode_tf32): tests, then MQA rows against CUDA cores.
. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
timeout 240 python3 -m pytest -q -x -n 12 -p no:cacheprovider tests/test_cuda.py tests/test_variants.py -k "float32 or groups_over_16" 2>&1 | tail -25 | tee $O/tests.txt
for knob in "" "tf32=0" "min_ctas=2"; do
  echo "=== knob [$knob]"
  PAL_DECODE_TUNING=$knob timeout 100 python3 scripts/decode_sweep.py --dtype float32 --heads 32/1 --rows 1x4096 8x4096 32x4096 64x4096 128x2048 --label "mqa[$knob]" 2>&1 | tail -14
done 2>&1 | tee $O/mqa.txt
for knob in "" "tf32=0"; do
  echo "=== knob [$knob] group 16 / d64"
  PAL_DECODE_TUNING=$knob timeout 60 python3 scripts/decode_sweep.py --dtype float32 --heads 32/2 --rows 32x4096 --label "g16[$knob]" 2>&1 | tail -5
  PAL_DECODE_TUNING=$knob timeout 60 python3 scripts/decode_sweep.py --dtype float32 --heads 32/1 --dim 64 --rows 32x4096 --label "d64[$knob]" 2>&1 | tail -5
done 2>&1 | tee $O/other.txt
