#!/bin/bash
# Nineteenth session, call 3: the final wheel (split-KV on both prefills, fill at 16 CTAs per SM):
# the whole suite and memcheck, then the portable prefill tests and their memcheck.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
timeout 420 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests > $O/suite.txt 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a $O/suite.txt; tail -4 $O/suite.txt
export PYTHONPATH=/tmp/site
PAL_PREFILL_PATH=portable timeout 100 python3 -m pytest -q -x -n 12 -p no:cacheprovider \
  tests/test_cuda.py tests/test_variants.py tests/test_fp8.py -k "prefill and not cpu" > "$O/portable.txt" 2>&1
tail -1 "$O/portable.txt"
PAL_PREFILL_PATH=portable timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest \
  -q -p no:cacheprovider tests/test_cuda.py -k "prefill and (bad or ragged or every_page_size or lengths or splits)" > "$O/memcheck_portable.txt" 2>&1
echo "portable memcheck rc $? ($SECONDS s)"; grep -E "ERROR SUMMARY|passed|failed" "$O/memcheck_portable.txt" | tail -2
