#!/bin/bash
# Prepared in session 10 for the next: main's kernels against the two prepared branches
# (kv_b/eq: Q released after the last S; kv_b/st: eq + the history/prompt tile through the row
# plan; kv_b/pf: st + whole prompt tiles without a predicate per copy), same run, bits compared, rows with histories that are not a multiple of 128 added;
# then the prefill tests with kv_b/pf's kernels.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 4x1024+8000 8x512+4000 16x256+2000"
run() { timeout 60 "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt; }
PAL_KERNEL_DIR=crates/pal-core/kernels run $S --label main --rows $ROWS --save /tmp/pv
PAL_KERNEL_DIR=kv_b/eq run $S --label early-q --rows $ROWS --compare /tmp/pv
PAL_KERNEL_DIR=kv_b/st run $S --label straddle --rows $ROWS --compare /tmp/pv
PAL_KERNEL_DIR=kv_b/pf run $S --label prompt-fast --rows $ROWS --compare /tmp/pv
PAL_KERNEL_DIR=crates/pal-core/kernels run $S --label main-again --rows $ROWS --compare /tmp/pv
PAL_KERNEL_DIR=kv_b/pf timeout 200 python3 -m pytest -q -x -p no:cacheprovider tests/test_cuda.py tests/test_determinism.py -k "prefill" 2>&1 | tail -3 | tee $O/tests.txt
