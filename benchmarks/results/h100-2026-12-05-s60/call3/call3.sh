# 60th session, call 3 (H100 80GB HBM3, 2026-12-05): the whole suite and the four memcheck
# workloads on decode-merge-warps.patch (then a prepared patch; landed after this call), as
# next_calls.sh's merge-warps part ran it:
#   variant mw decode-merge-warps.patch   # kv_b/mw = main's kernels + the patch
bash scripts/kernel_suite.sh kv_b/mw 570 tests
# The one failure (tests/test_bench.py importing the lab's old `_reason`) came from this
# session's error_line refactor, not from the kernels; the test was mended after the call.
