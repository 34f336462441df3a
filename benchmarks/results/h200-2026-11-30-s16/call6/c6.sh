#!/bin/bash
# Session 16, call 6: the prepared TMA path for pal V tiles (branch tma-v, its wheel): decode
# tests (every decode test: the other kernels' parameters moved too), then A/B against its own copying threads
# (PAL_DECODE_TUNING=tma=0: the shared V steps at pages of 64+), same bits expected.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=60
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
timeout 150 python3 -m pytest -q -x -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py tests/test_variants.py \
  -k "decode and not cpu" > "$O/tests.txt" 2>&1
echo "tests rc $? ($SECONDS s)" | tee -a "$O/ab.txt"; tail -15 "$O/tests.txt" | tee -a "$O/ab.txt"
for page in 128 64 32; do
  D="python3 scripts/decode_sweep.py --layouts pal --page $page --rows 8x4096 32x4096"
  PAL_DECODE_TUNING=tma=0 timeout 40 $D --label threads-p$page --save /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 40 $D --label tma-p$page --compare /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
D="python3 scripts/decode_sweep.py --layouts pal --page 64 --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn"
PAL_DECODE_TUNING=tma=0 timeout 40 $D --label threads-fp8 --save /tmp/ab8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
timeout 40 $D --label tma-fp8 --compare /tmp/ab8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
echo "c6 end ($SECONDS s)" | tee -a "$O/ab.txt"
