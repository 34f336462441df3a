#!/bin/bash
# Twentieth session, call 3: the whole suite on the wheel with prefill-split-lockstep.patch
# (tests/test_cuda.py patched likewise), then the portable prefill tests and their memcheck.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
cp kv_b/s20/test_cuda.py tests/test_cuda.py
timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
export PYTHONPATH=/tmp/site PAL_PREFILL_PATH=portable
timeout 100 python3 -m pytest -q -n 12 -p no:cacheprovider tests/test_cuda.py tests/test_variants.py tests/test_fp8.py -k "prefill and not cpu" > "$O/portable.txt" 2>&1; tail -1 "$O/portable.txt"
echo "($SECONDS s)"
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "prefill and (bad or ragged or splits)" > "$O/portable_memcheck.txt" 2>&1; echo "rc $?"; grep -E "ERROR SUMMARY|passed|failed" "$O/portable_memcheck.txt"
echo "($SECONDS s)"
