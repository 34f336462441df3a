#!/bin/bash
# Session 33 call 1: the prepared decode patches against main (no FlashInfer: its JIT cache is
# not here; the s31 ratios to FlashInfer carry through main's rows), the decode tests on both
# patches (covers the groups-over-16 cases never run on a GPU), PAL's latency rows.
. scripts/gpu_env.sh || exit 1
M=crates/pal-core/kernels
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for v in pol both; do
  rm -rf /tmp/$v; cp -r $M /tmp/$v
  patch -s -p4 -d /tmp/$v < benchmarks/prepared/decode-policy-uniform.patch || exit 1
  [ $v = both ] && { patch -s -p4 -d /tmp/$v < benchmarks/prepared/decode-raw-scores.patch || exit 1; }
done
S="python3 scripts/decode_sweep.py --rows 1x4096 8x4096 32x4096 1x32768"
F="python3 scripts/decode_sweep.py --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 64x4096"
main_bits=$(mktemp -d) main_fp8=$(mktemp -d) both_bits=$(mktemp -d) both_fp8=$(mktemp -d)
{
for r in 1 2; do
  first() { [ $r = 1 ] && echo "--save $1" || echo "--compare $1"; }
  PAL_KERNEL_DIR=$M timeout 100 $S --label main $(first $main_bits)
  PAL_KERNEL_DIR=$M timeout 60 $F --label main $(first $main_fp8)
  PAL_KERNEL_DIR=/tmp/pol timeout 100 $S --label pol --compare $main_bits
  PAL_KERNEL_DIR=/tmp/pol timeout 60 $F --label pol --compare $main_fp8
  PAL_KERNEL_DIR=/tmp/both timeout 100 $S --label both $(first $both_bits)
  PAL_KERNEL_DIR=/tmp/both timeout 60 $F --label both $(first $both_fp8)
done
} > $O/ab.txt 2>&1
grep -E "TB/s|rror" $O/ab.txt | sed 's/ hq32\/hkv8 d128 p16//' | sort -k2,2 -k3,3 -k1,1 -s
echo "ab done $SECONDS s"
PAL_KERNEL_DIR=/tmp/both timeout 170 python3 -m pytest -q -p no:cacheprovider $par -k "decode or groups or splits" \
  tests/test_cuda.py tests/test_fp8.py tests/test_variants.py > $O/tests.txt 2>&1
tail -2 $O/tests.txt; grep -E "^FAILED" $O/tests.txt | head
echo "tests $SECONDS s"
timeout 100 python3 scripts/call_overhead.py --latency --calls 2000 > $O/latency.txt 2>&1
tail -12 $O/latency.txt
echo "done $SECONDS s"
