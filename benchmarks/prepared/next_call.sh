#!/bin/bash
# Prepared after the thirty-first session, two calls of about seven and six minutes:
#   bash benchmarks/prepared/next_call.sh decode   # the two decode patches, tests, latency rows
#   bash benchmarks/prepared/next_call.sh simt     # float32 on CUDA cores, MQA split knobs
# decode: two rounds alternating, FlashInfer once: main's decode against the cache policy made
# beside each copy (decode-policy-uniform.patch: "pol", the same bits as main) and that with the
# softmax's raw scores on full tiles (decode-raw-scores.patch: "both", its own rounding, so the
# two rounds compare with each other); the decode tests on "both"; issue 11's latency rows
# (graph replay warm, never run yet). simt: the CUDA-core kernels' dot products in interleaved chains
# (simt-dot-chains.patch) against main's on float32 decode and prefill rows, the float32 and
# CUDA-core tests on it; MQA's split plan at one m-tile (knobs) where FlashInfer still leads.
# A winner then needs the whole suite (about 260 s of pytest) and memcheck (serial sets), each
# in a call of its own.
# Carry: gpu-bundle (a wheel of main) and kv_b/fi_cache.tgz.
. scripts/gpu_env.sh || exit 1
M=crates/pal-core/kernels
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
if [ "${1:-decode}" = decode ]; then
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
  fi=$([ $r = 1 ] && echo --flashinfer)
  first() { [ $r = 1 ] && echo "--save $1" || echo "--compare $1"; }
  PAL_KERNEL_DIR=$M timeout 100 $S --label main $(first $main_bits) $fi
  PAL_KERNEL_DIR=$M timeout 60 $F --label main $(first $main_fp8) $fi
  PAL_KERNEL_DIR=/tmp/pol timeout 100 $S --label pol --compare $main_bits
  PAL_KERNEL_DIR=/tmp/pol timeout 60 $F --label pol --compare $main_fp8
  PAL_KERNEL_DIR=/tmp/both timeout 100 $S --label both $(first $both_bits)
  PAL_KERNEL_DIR=/tmp/both timeout 60 $F --label both $(first $both_fp8)
done
} > $O/ab.txt 2>&1
grep -E "TB/s|rror" $O/ab.txt | sed 's/ hq32\/hkv8 d128 p16//' | sort -k2,2 -k3,3 -k1,1 -s
echo "ab done $SECONDS s"
PAL_KERNEL_DIR=/tmp/both timeout 150 python3 -m pytest -q -p no:cacheprovider $par -k "decode or groups or splits" \
  tests/test_cuda.py tests/test_fp8.py tests/test_variants.py > $O/tests.txt 2>&1
tail -2 $O/tests.txt; grep -E "^FAILED" $O/tests.txt | head
echo "tests $SECONDS s"
# Issue 11's latency rows with main: the eager call, the kernels by graph replay back to back
# (inputs warm in L2, as an engine replays a graph) and after an L2 flush, FlashInfer's run().
timeout 120 python3 scripts/call_overhead.py --latency --flashinfer --calls 2000 > $O/latency.txt 2>&1
tail -8 $O/latency.txt
else
K=/tmp/simt; rm -rf $K; cp -r $M $K
patch -s -p4 -d $K < benchmarks/prepared/simt-dot-chains.patch || exit 1
D="python3 scripts/decode_sweep.py --dtype float32 --rows 1x4096 8x4096 32x4096 64x4096"
P="python3 scripts/prefill_sweep.py --dtype float32 --rows 4x1024+0 4x512+4096"
dec_bits=$(mktemp -d) pre_bits=$(mktemp -d)
{
for r in 1 2; do
  first() { [ $r = 1 ] && echo "--save $1" || echo "--compare $1"; }
  PAL_KERNEL_DIR=$M timeout 100 $D --label main $(first $dec_bits)
  PAL_KERNEL_DIR=$K timeout 100 $D --label chains
  PAL_KERNEL_DIR=$M timeout 100 $P --label main $(first $pre_bits)
  PAL_KERNEL_DIR=$K timeout 100 $P --label chains
done
} > $O/simt.txt 2>&1
grep -E "TB/s|TFLOP/s|rror" $O/simt.txt | sed 's/ hq32\/hkv8 d128 p16//' | sort -k2,2 -k3,3 -k1,1 -s
echo "simt $SECONDS s"
PAL_KERNEL_DIR=$K timeout 150 python3 -m pytest -q -p no:cacheprovider $par -k "float32 or simt or fp8_page_sizes" \
  tests/test_cuda.py tests/test_fp8.py tests/test_variants.py > $O/tests.txt 2>&1
tail -2 $O/tests.txt; grep -E "^FAILED" $O/tests.txt | head
echo "tests $SECONDS s"
# MQA (HQ 32 / HKV 1) at one m-tile (main's default up to 16 pairs): split floors and two waves
# of smaller splits against the default plan, where FlashInfer still leads (1-2 x 4096).
Q="python3 scripts/decode_sweep.py --layouts nhd --heads 32/1 --rows 1x4096 2x4096 4x4096"
{
fi=--flashinfer
for t in default min_split=64 min_split=256 fill=2; do
  knob=$([ $t = default ] && echo m_tiles=1 || echo m_tiles=1,$t)
  PAL_DECODE_TUNING=$knob timeout 40 $Q --label $t $fi
  fi=
done
} > $O/mqa.txt 2>&1
grep -E "TB/s|rror" $O/mqa.txt | sort -k2,2 -k3,3 -k1,1 -s
echo "mqa $SECONDS s"
fi
echo "done $SECONDS s"
