#!/bin/bash
# Thirty-first session, call 3, on the final wheel (m-tiles rule at an eighth of the SMs): every
# CUDA decode test, then memcheck: the Rust example, gpu_memcheck.py, the CUDA bad-table set and
# the fp8 decode / fill sets (pytest workers under one compute-sanitizer, which follows them).
. scripts/gpu_env.sh || exit 1
gunzip -c kv_b/s31/cuda_decode.gz > gpu-bundle/cuda_decode && chmod +x gpu-bundle/cuda_decode
timeout 130 python3 -m pytest -q -p no:cacheprovider -n 12 -k "decode or groups" tests/test_cuda.py tests/test_fp8.py > $O/decode_tests.txt 2>&1
tail -2 $O/decode_tests.txt; grep -E "^FAILED" $O/decode_tests.txt | head
echo "decode tests $SECONDS s"
nvrtc_dirs=$(python3 -c 'import nvidia, pathlib; print(":".join(str(pathlib.Path(d) / "cu13" / "lib") for d in nvidia.__path__))')
MC="compute-sanitizer --tool memcheck --error-exitcode 9"
{
LD_LIBRARY_PATH="/usr/local/cuda/lib64:$nvrtc_dirs:${LD_LIBRARY_PATH:-}" timeout 60 $MC gpu-bundle/cuda_decode 2>&1 | tail -3
echo "rust example $SECONDS s"
timeout 90 $MC python3 scripts/gpu_memcheck.py 2>&1 | tail -3
echo "gpu_memcheck $SECONDS s"
timeout 220 $MC python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_cuda.py \
  -k "two_streams or splits or bad_page or next_call or ragged or fill_then or mixed_devices or prefill_bad or 128-16- or 256-16- or 64-1- or 128-8- or 128-4- or 128-2- or (prefill_matches and 128) or large_pages or groups" 2>&1 | grep -E "ERROR SUMMARY|passed|failed|rror" | sort | uniq -c
echo "cuda set $SECONDS s"
timeout 100 $MC python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_fp8.py \
  -k "cuda and ((long and (128-16 or 128-4 or 256)) or (small_pages_over and e4m3) or splits or fill)" 2>&1 | grep -E "ERROR SUMMARY|passed|failed|rror" | sort | uniq -c
echo "fp8 set $SECONDS s"
} > $O/memcheck.txt 2>&1
cat $O/memcheck.txt
echo "done $SECONDS s"
