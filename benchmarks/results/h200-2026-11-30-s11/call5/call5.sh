#!/bin/bash
# Session 11, call 5 (run inline on the warm machine after call 4): the fp8 wheel (s11/final) on
# its own: fp8 prefill timings against the portable kernel's output, memcheck over the long fp8
# prefill tests.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site8 gpu-bundle-fp8/proxy*.whl gpu-bundle/ml_dtypes*.whl 2>/dev/null; export PYTHONPATH=/tmp/site8; timeout 45 python3 scripts/prefill_sweep.py --label fp8-staged --kv-dtype float8_e4m3fn --rows 1x4096+0 4x1024+8192 8x512+4096 --check 2>&1 | grep -E "TFLOP|rror"; timeout 75 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -x -p no:cacheprovider tests/test_fp8.py -k "cuda and long and (128-16 or 128-4 or 256)" 2>&1 | grep -E "ERROR SUMMARY|passed|failed|rror" | tail -3
