#!/bin/bash
# Session 36, call 2: decode_tf32 tests; ncu of MQA 32x4096; TF32 against CUDA cores.
. scripts/gpu_env.sh || exit 1
timeout 200 python3 -m pytest -q -n 12 -p no:cacheprovider tests/test_cuda.py tests/test_variants.py -k "float32 or groups_over_16" 2>&1 | tail -15 | tee $O/tests.txt
timeout 150 python3 scripts/ncu_report.py decode --dtype float32 --heads 32/1 --layout nhd --row 32x4096 --out $O/ncu-mqa 2>&1 | head -60
rm -f $O/ncu-mqa/source.csv
for knob in "" "tf32=0"; do
  for heads in 32/1 32/2 64/8; do
    PAL_DECODE_TUNING=$knob timeout 60 python3 scripts/decode_sweep.py --dtype float32 --heads $heads --rows 8x4096 32x4096 64x4096 --label "$heads[$knob]" 2>&1 | grep "kernel"
  done
  PAL_DECODE_TUNING=$knob timeout 60 python3 scripts/decode_sweep.py --dtype float32 --heads 32/1 --dim 64 --rows 32x4096 --label "d64[$knob]" 2>&1 | grep kernel
done 2>&1 | tee $O/sweep.txt
for knob in "min_split=64" "min_ctas=2" "tf32=0"; do
  PAL_DECODE_TUNING=$knob timeout 60 python3 scripts/decode_sweep.py --dtype float32 --heads 32/1 --rows 1x4096 1x32768 --label "small[$knob]" 2>&1 | grep kernel
done 2>&1 | tee $O/small.txt
