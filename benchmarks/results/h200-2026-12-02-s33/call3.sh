#!/bin/bash
# Session 33 call 3: the float32 decode in warp-private rings (decode_rows): its tests, memcheck
# on the new tile test, and the float32 rows against the same run's read ceiling.
. scripts/gpu_env.sh || exit 1
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
timeout 150 python3 -m pytest -q -p no:cacheprovider $par -k "float32 or simt" \
  tests/test_cuda.py tests/test_fp8.py tests/test_variants.py > $O/tests.txt 2>&1
tail -2 $O/tests.txt; grep -E "^FAILED" $O/tests.txt | head -20
echo "tests $SECONDS s"
if grep -qE "^FAILED" $O/tests.txt; then grep -E "Mismatch|Max abs|Max rel|Error|error" $O/tests.txt | head -30; fi
D="python3 scripts/decode_sweep.py --dtype float32"
{
timeout 120 $D --rows 1x4096 8x4096 32x4096 64x4096 1x32768 128x2048 256x1024 --label rows
timeout 60 $D --heads 32/32 --rows 8x4096 32x4096 --label mha
timeout 60 $D --heads 64/8 --rows 8x4096 32x4096 --label hq64
timeout 60 $D --heads 32/1 --rows 1x4096 8x4096 --label mqa
timeout 150 $D --extra --rows 32x4096 --label extra
} > $O/sweep.txt 2>&1
grep -E "TB/s|rror" $O/sweep.txt | sed 's/ hq32\/hkv8//'
echo "sweep $SECONDS s"
timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
  -k "float32_tiles or (bad_page and float32)" > $O/memcheck.txt 2>&1
echo "memcheck rc $?"; grep -E "ERROR SUMMARY|passed|failed" $O/memcheck.txt | tail -3
echo "done $SECONDS s"
