#!/bin/bash
# Session 8, call 6: profiles for the next session: the Hopper prefill (nhd, 4x1024 over 8192)
# and the fp8 pal decode at 32x4096, final form (main's wheel).
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site kv_b/main-wheel/*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site
timeout 110 python3 scripts/ncu_report.py prefill --layout nhd --row 4x1024+8192 --out $O/prefill 2>&1 | tail -45 > $O/prefill.txt
timeout 100 python3 scripts/ncu_report.py decode --layout pal --row 32x4096 --kv-dtype float8_e4m3fn --out $O/fp8 2>&1 | tail -45 > $O/fp8.txt
ls $O/prefill $O/fp8
