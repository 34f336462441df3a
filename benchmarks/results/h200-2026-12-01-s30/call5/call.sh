#!/bin/bash
# Thirtieth session, call 5 (the session's last device minutes): the new test of the cluster
# merge's bits against the merge kernel's (call 4 lost its output when the call ran out of
# time), then the fp8 decode set under memcheck as far as the time allows.
. scripts/gpu_env.sh || exit 1
timeout 60 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "cluster_merge or l2_policies" > $O/test.txt 2>&1; tail -2 $O/test.txt
timeout 110 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_fp8.py \
  -k "cuda and ((long and (128-16 or 128-4 or 256)) or splits)" > $O/memcheck_fp8.txt 2>&1; echo "rc $?"
grep -E "ERROR SUMMARY|passed|failed" $O/memcheck_fp8.txt | tail -3
