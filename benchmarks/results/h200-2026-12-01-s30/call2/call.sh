#!/bin/bash
# Thirtieth session, call 2: the decode's split merge inside a cluster of the row group's splits
# (merge_in_cluster, no merge kernel) against the merge kernel (PAL_DECODE_TUNING=cluster=0),
# same wheel and kernels, kernel time by graph replay and the eager call, outputs compared bit
# for bit; two rounds; FlashInfer once. Then every CUDA decode test and the decode memcheck set.
. scripts/gpu_env.sh || exit 1
S="python3 scripts/decode_sweep.py --rows 1x4096 2x4096 4x4096 8x4096 1x32768 32x4096"
saved=$(mktemp -d)
{
PAL_DECODE_TUNING=cluster=0 timeout 150 $S --label merge --save $saved --flashinfer
timeout 100 $S --label cluster --compare $saved
PAL_DECODE_TUNING=cluster=0 timeout 100 $S --label merge --compare $saved
timeout 100 $S --label cluster --compare $saved
} > $O/ab.txt 2>&1
M="python3 scripts/decode_sweep.py --layouts nhd --heads 32/1 --rows 1x4096 4x4096 32x4096"
saved2=$(mktemp -d)
{
PAL_DECODE_TUNING=cluster=0 timeout 100 $M --label merge --save $saved2 --flashinfer
timeout 60 $M --label cluster --compare $saved2
PAL_DECODE_TUNING=cluster=0 timeout 60 $M --label merge --compare $saved2
timeout 60 $M --label cluster --compare $saved2
} > $O/ab_mqa.txt 2>&1
cat $O/ab.txt $O/ab_mqa.txt | grep -E "TB/s|ceiling|Error|error" | sed 's/ hq32\/hkv8 d128 p16//'
echo "ab done $SECONDS s"
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
timeout 200 python3 -m pytest -q -p no:cacheprovider $par -k "decode or splits or graph" tests/test_cuda.py tests/test_fp8.py tests/test_variants.py tests/test_determinism.py > $O/tests.txt 2>&1; tail -3 $O/tests.txt
grep -E "^FAILED" $O/tests.txt | head
timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "splits or bad_page or ragged or 128-16- or 64-1-" > $O/memcheck.txt 2>&1; echo "memcheck rc $?"; grep -E "ERROR SUMMARY|passed|failed" $O/memcheck.txt | tail -3
echo "done $SECONDS s"
