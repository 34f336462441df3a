#!/bin/bash
# Forty-first session, call 3: the same with each box reading a page as 128-byte rows of two dims (two boxes a
# step, TMA_V) against the copying lanes (PAL_DECODE_TUNING=tma=0: main's path at page 32), the
# same wheel, two alternating rounds; the decode tests over large pages, and memcheck over them.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
xdist=$(python3 -c "import xdist" 2>/dev/null && echo "-n 12")
( timeout 300 python3 -m pytest -q -p no:cacheprovider $xdist tests/test_cuda.py tests/test_variants.py tests/test_determinism.py \
    -k "large_pages or pages_of_32 or decode_matches or (decode and window) or determin" > "$O/tests.log" 2>&1; echo "tests rc=$?" >> "$O/tests.log" ) &
tests=$!
R="python3 scripts/decode_sweep.py --layouts pal --page 32"
for round in 1 2; do
  for v in tma0 tma; do
    tune=""; [ $v = tma0 ] && tune="tma=0"
    chk="--compare /tmp/b1"; [ $round = 1 ] && [ $v = tma0 ] && chk="--save /tmp/b1"
    echo "== $v round $round" >> "$O/sweep.txt"
    PAL_DECODE_TUNING=$tune timeout 100 $R --rows 1x4096 8x4096 32x4096 64x4096 1x32768 --label "$v" $chk >> "$O/sweep.txt" 2>&1
    PAL_DECODE_TUNING=$tune timeout 60 $R --rows 8x4096 32x4096 --dim 64 --label "$v" $chk >> "$O/sweep.txt" 2>&1
    PAL_DECODE_TUNING=$tune timeout 60 $R --rows 8x4096 32x4096 --dim 256 --label "$v" $chk >> "$O/sweep.txt" 2>&1
    PAL_DECODE_TUNING=$tune timeout 60 $R --rows 8x4096 --dtype float16 --heads 32/32 --label "$v" $chk >> "$O/sweep.txt" 2>&1
  done
done
wait $tests
tail -5 "$O/tests.log"
timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
  -k "large_pages or (decode_matches and 128-32)" > "$O/memcheck.log" 2>&1; echo "memcheck rc=$?" | tee -a "$O/memcheck.log"
tail -3 "$O/memcheck.log"
grep -E "TB/s" "$O/sweep.txt" | sed 's/hq32.hkv8 //' 
echo "done $SECONDS s"
