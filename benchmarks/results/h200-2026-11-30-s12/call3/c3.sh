#!/bin/bash
# Session 12, call 3: pal fp8 history K staged and widened in the pages' [chunk][key] order
# (kv_b/pf) against kv_b/qs: fp8 prefill tests on pf (hang guard, 8 workers), then fp8 sweeps
# A/B/A with bits compared (pages 16, then 4 / 8 / 32 on pal).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS="--timeout=90"
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl 2>/dev/null || exit 1
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
PAL_KERNEL_DIR=kv_b/pf timeout 150 python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_fp8.py tests/test_variants.py -k "prefill and cuda" > $O/tests.txt 2>&1
echo "fp8 tests rc $? ($SECONDS s)"; tail -2 $O/tests.txt
S="python3 scripts/prefill_sweep.py --kv-dtype float8_e4m3fn"
R="--rows 1x4096+0 4x1024+8192 8x512+4096"
sweep() { timeout 45 $S "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt; }
PAL_KERNEL_DIR=kv_b/qs sweep --label qs $R --save /tmp/a
PAL_KERNEL_DIR=kv_b/pf sweep --label pf $R --compare /tmp/a
PAL_KERNEL_DIR=kv_b/qs sweep --label qs-again $R
for page in 4 8 32; do
  PAL_KERNEL_DIR=kv_b/qs sweep --label qs --layouts pal --page $page --rows 4x1024+8192 --save /tmp/p$page
  PAL_KERNEL_DIR=kv_b/pf sweep --label pf --layouts pal --page $page --rows 4x1024+8192 --compare /tmp/p$page
done
echo "end ($SECONDS s)"
