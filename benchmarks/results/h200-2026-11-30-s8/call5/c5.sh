#!/bin/bash
# Session 8, call 5: the final form's decode over page sizes, head dims, MHA / MQA / HQ 64 at
# 32 x 4096 (bf16 both layouts, fp8 e4m3 pal), against the read ceiling of the same run.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site
timeout 150 python3 scripts/decode_sweep.py --label extra --extra --rows 8x4096 2>&1 | grep -v "^ " | tee $O/extra.txt
timeout 90 python3 scripts/decode_sweep.py --label extra-fp8 --extra --kv-dtype float8_e4m3fn --layouts pal --rows 8x4096 2>&1 | grep -v "^ " | tee -a $O/extra.txt
