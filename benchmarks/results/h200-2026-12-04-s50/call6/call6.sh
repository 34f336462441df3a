#!/bin/bash
# Session 50, call 6: memcheck on the candidate (pal pages too) (the suite's three workloads), then memcheck on
# the padded-dims prefill's own test (its tensor boxes read past the head's dims).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call6.sh $O/
bash scripts/kernel_suite.sh crates/pal-core/kernels 200 memcheck
echo "== ($SECONDS s)"
timeout $((300 - SECONDS)) compute-sanitizer --tool memcheck --print-limit 20 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "head_dims_between and not alibi" > $O/memcheck_dims.txt 2>&1; echo "rc $?"; tail -4 $O/memcheck_dims.txt
echo "call done $SECONDS s"
