#!/bin/bash
# Session 33 call 5: the final form (decode_rows without the evict-first hint): the whole pytest
# suite, memcheck on the float32 decode's tests with hostile tables, the float32 rows.
. scripts/gpu_env.sh || exit 1
unset PAL_KERNEL_DIR
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 320 python3 -m pytest -q -p no:cacheprovider $par tests > $O/pytest.txt 2>&1
echo "pytest rc $? ($SECONDS s)"; tail -2 $O/pytest.txt; grep -E "^FAILED" $O/pytest.txt | head -20
timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
  -k "float32_tiles or (float32 and (bad_page or splits or ragged or two_streams or 128-16- or 64-1- or 256-16- or 128-2-))" > $O/memcheck.txt 2>&1
echo "memcheck rc $? ($SECONDS s)"; grep -E "ERROR SUMMARY|passed|failed" $O/memcheck.txt | tail -3
timeout 45 python3 scripts/decode_sweep.py --dtype float32 --rows 1x4096 8x4096 32x4096 64x4096 --label rows > $O/sweep.txt 2>&1
grep -E "TB/s|rror" $O/sweep.txt
echo "done $SECONDS s"
