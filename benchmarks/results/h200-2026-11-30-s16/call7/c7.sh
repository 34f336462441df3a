#!/bin/bash
# Session 16, call 7: the prepared TMA path, reworked: one box of 64 slots (four warps' tiles,
# 128-byte rows) per step, full / empty mbarriers (branch tma-v, its wheel): decode tests, A/B
# against its own copying threads (PAL_DECODE_TUNING=tma=0: the shared V steps), same bits
# expected, then memcheck over the large-page tests.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=60
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
timeout 120 python3 -m pytest -q -x -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py tests/test_variants.py \
  -k "decode and not cpu" > "$O/tests.txt" 2>&1
echo "tests rc $? ($SECONDS s)" | tee -a "$O/ab.txt"; tail -12 "$O/tests.txt" | tee -a "$O/ab.txt"
for page in 128 64; do
  D="python3 scripts/decode_sweep.py --layouts pal --page $page --rows 8x4096 32x4096 1x32768"
  PAL_DECODE_TUNING=tma=0 timeout 40 $D --label threads-p$page --save /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 40 $D --label tma-p$page --compare /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
echo "ab end ($SECONDS s)" | tee -a "$O/ab.txt"
[ $SECONDS -lt 200 ] && timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "large_pages" > "$O/memcheck.txt" 2>&1
echo "memcheck rc $? ($SECONDS s)" | tee -a "$O/ab.txt"; grep -E "ERROR SUMMARY|passed|failed" "$O/memcheck.txt" | tail -3 | tee -a "$O/ab.txt"
