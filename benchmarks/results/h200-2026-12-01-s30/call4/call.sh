#!/bin/bash
# Thirtieth session, call 4: the memcheck half of the GPU suite on the final form (call 3 ran
# its pytest half: 2398 passed, and was cut by its time limit in memcheck): the Rust example,
# the bad-input workload, the CUDA tests that feed bad page tables and the fp8 set, as
# scripts/gpu_suite.sh runs them, and the variants' CUDA decode tests; first the new test of the
# cluster merge's bits against the merge kernel's.
. scripts/gpu_env.sh || exit 1
gunzip -c kv_b/s30/cuda_decode.gz > gpu-bundle/cuda_decode && chmod +x gpu-bundle/cuda_decode
nvrtc_dirs=$(python3 -c 'import nvidia, pathlib; print(":".join(str(pathlib.Path(d) / "cu13" / "lib") for d in nvidia.__path__))')
timeout 60 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "cluster_merge or l2_policies" 2>&1 | tail -2
{
LD_LIBRARY_PATH="/usr/local/cuda/lib64:$nvrtc_dirs:${LD_LIBRARY_PATH:-}" compute-sanitizer --tool memcheck --error-exitcode 9 gpu-bundle/cuda_decode 2>&1 | tail -2; echo "rc ${PIPESTATUS[0]}"
compute-sanitizer --tool memcheck --error-exitcode 9 python3 scripts/gpu_memcheck.py; echo "rc $?"
compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
  -k "two_streams or splits or bad_page or next_call or ragged or fill_then or mixed_devices or prefill_bad or 128-16- or 256-16- or 64-1- or 128-8- or 128-4- or 128-2- or (prefill_matches and 128) or large_pages"; echo "rc $?"
compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_fp8.py \
  -k "cuda and ((long and (128-16 or 128-4 or 256)) or (small_pages_over and e4m3) or splits)"; echo "rc $?"
compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_variants.py -k "cuda and decode"; echo "rc $?"
} > $O/memcheck.txt 2>&1
grep -E "ERROR SUMMARY|passed|failed|^rc" $O/memcheck.txt
echo "done $SECONDS s"
