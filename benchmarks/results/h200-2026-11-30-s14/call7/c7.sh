#!/bin/bash
# Session 14, call 7: 4-slot pal pages staged per page (K [page][chunk][slot], V [page][dim][slot],
# 16-byte copies; kv_b/p4) against the landed form: its pal decode tests and the new
# stale-slot test, page-4 rows A/B with bits compared, then the whole suite on kv_b/p4.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS="--timeout=120"
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
PAL_KERNEL_DIR=kv_b/p4 timeout 90 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_variants.py tests/test_fp8.py \
  -k "(decode and pal and not cpu) or past_the_end" > $O/tests.txt 2>&1
rc=$?; echo "p4 tests rc $rc ($SECONDS s)" | tee -a $O/log.txt; tail -3 $O/tests.txt | tee -a $O/log.txt
D="python3 scripts/decode_sweep.py --layouts pal --page 4 --rows 1x4096 8x4096 32x4096 64x4096"
timeout 40 $D --label vh --save /tmp/d4 2>&1 | grep -E "TB/s|rror" | tee -a $O/log.txt
PAL_KERNEL_DIR=kv_b/p4 timeout 40 $D --label p4 --compare /tmp/d4 2>&1 | grep -E "TB/s|rror" | tee -a $O/log.txt
echo "timing done ($SECONDS s)" | tee -a $O/log.txt
[ $rc -eq 0 ] || exit 0
PAL_KERNEL_DIR=kv_b/p4 timeout $((462 - SECONDS)) bash scripts/gpu_suite.sh gpu-bundle $O/suite tests > $O/suite.txt 2>&1
echo "suite status $? ($SECONDS s)" | tee -a $O/suite.txt; rm -f $O/suite/gpu.txt
