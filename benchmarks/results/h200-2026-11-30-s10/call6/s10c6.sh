#!/bin/bash
# Session 10, call 6: the prompt's-last-tile row plan (main's kernels) against the kernels before
# it (kv_b/prev10, commit 9c136b8), same run, A / B / A, bits compared.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py"
PAL_KERNEL_DIR=kv_b/prev10 timeout 40 $S --label before --save /tmp/pv 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
PAL_KERNEL_DIR=crates/pal-core/kernels timeout 40 $S --label after --compare /tmp/pv 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/prev10 timeout 40 $S --label before-again --compare /tmp/pv 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
