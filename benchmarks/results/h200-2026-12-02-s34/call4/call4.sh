#!/bin/bash
# Session 34 call 4: the final form (new wheel): the whole pytest suite, memcheck over the float32
# decode tests with hostile tables, the float32 rows.
. scripts/gpu_env.sh || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site_new kv_b/s34/new/*.whl || exit 1
export PYTHONPATH=/tmp/site_new:/tmp/site
unset PAL_KERNEL_DIR
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 330 python3 -m pytest -q -p no:cacheprovider $par tests > $O/pytest.txt 2>&1
echo "pytest rc $? ($SECONDS s)"; tail -1 $O/pytest.txt; grep -E "^FAILED" $O/pytest.txt | head -20
timeout 130 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
  -k "float32_tiles or (float32 and (bad_page or splits or ragged or two_streams or 128-16- or 64-1- or 256-16- or 128-2- or 96-))" > $O/memcheck.txt 2>&1
echo "memcheck rc $? ($SECONDS s)"; grep -E "ERROR SUMMARY|passed|failed" $O/memcheck.txt | tail -3
timeout 60 python3 scripts/decode_sweep.py --dtype float32 --rows 1x4096 1x32768 8x4096 32x4096 64x4096 128x2048 256x1024 --label final > $O/sweep.txt 2>&1
grep -E "TB/s|rror" $O/sweep.txt | sed -E "s/, eager.*//"
echo "done $SECONDS s"
