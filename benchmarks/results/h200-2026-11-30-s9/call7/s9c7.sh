#!/bin/bash
# Session 9, call 7 (profiles only, main's kernels): ncu of nhd 16 x 1024 and 4 x 1024 over 8192.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site
timeout 90 python3 scripts/ncu_report.py prefill --layout nhd --row 4x1024+8192 --out $O/ncu-nhd-hist 2>&1 | head -12
timeout 90 python3 scripts/ncu_report.py prefill --layout nhd --row 16x1024+0 --out $O/ncu-nhd-16x1024 2>&1 | head -12
