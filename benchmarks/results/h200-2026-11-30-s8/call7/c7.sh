#!/bin/bash
# Session 8, call 7: the fill knob on fp8 pools (32x4096 runs 256 CTAs on 396 slots).
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site kv_b/main-wheel/*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site
for t in "" "fill=2" "min_ctas=3" "fill=2,min_ctas=3"; do
  PAL_DECODE_TUNING=$t timeout 40 python3 scripts/decode_sweep.py --label "fp8[$t]" --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 2>&1 | grep -v "^ \|ceiling" | tee -a $O/fp8_knob.txt
done
