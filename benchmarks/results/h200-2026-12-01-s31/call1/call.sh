#!/bin/bash
# Prepared after the thirtieth session, two calls of about five minutes each:
#   bash benchmarks/prepared/next_call.sh time    # the A/B rounds below
#   bash benchmarks/prepared/next_call.sh check   # the decode patch's tests and a memcheck set
# Timed: the decode's cluster merge with the partial states in each CTA's shared memory, read by
# the cluster's peers through distributed shared memory (decode-cluster-dsmem.patch), against
# main's cluster merge through L2 and the merge kernel (cluster=0), outputs compared bit for
# bit; MQA with one m-tile a CTA (knob m_tiles); the fill's fp8 quotients by reciprocal
# (fill-fp8-reciprocal.patch) beside main's. The whole suite on a winner needs a call of its own
# (about 300 s of pytest and 200 s of memcheck: scripts/kernel_suite.sh, then memcheck).
# Carry: gpu-bundle (a wheel of main) and kv_b/fi_cache.tgz.
. scripts/gpu_env.sh || exit 1
K=/tmp/dsm; rm -rf $K; cp -r crates/pal-core/kernels $K
patch -s -p4 -d $K < benchmarks/prepared/decode-cluster-dsmem.patch || exit 1
M=crates/pal-core/kernels
if [ "${1:-time}" = time ]; then
S="python3 scripts/decode_sweep.py --rows 1x2048 1x4096 8x4096"
X="python3 scripts/decode_sweep.py --layouts nhd --dim 256 --heads 16/8 --rows 1x4096"
saved=$(mktemp -d) saved2=$(mktemp -d)
{
for r in 1 2; do
  fi=$([ $r = 1 ] && echo --flashinfer)
  check() { [ $r = 1 ] && [ "$1" = main ] && echo "--save $2" || echo "--compare $2"; }
  PAL_KERNEL_DIR=$M timeout 100 $S --label main $(check main $saved) $fi
  PAL_KERNEL_DIR=$K timeout 100 $S --label dsmem $(check dsmem $saved)
  PAL_KERNEL_DIR=$M PAL_DECODE_TUNING=cluster=0 timeout 100 $S --label merge $(check merge $saved)
  PAL_KERNEL_DIR=$M timeout 60 $X --label main $(check main $saved2)
  PAL_KERNEL_DIR=$K timeout 60 $X --label dsmem $(check dsmem $saved2)
done
} > $O/ab.txt 2>&1
grep -E "TB/s|ceiling|rror" $O/ab.txt | sed 's/ hq32\/hkv8 d128 p16//'
echo "ab done $SECONDS s"
# MQA (HQ 32 / HKV 1) at small batches, below FlashInfer: one m-tile a CTA (two CTAs a KV head,
# the warps' cheaper merge; knob m_tiles, in main's wheel) and with 16 splits as well (its row
# groups then merge in clusters, here through the patch's shared memory), against the default
# two m-tiles; FlashInfer once.
Q="python3 scripts/decode_sweep.py --layouts nhd pal --heads 32/1 --rows 1x4096 2x4096 4x4096 32x4096"
{
for r in 1 2; do
  fi=$([ $r = 1 ] && echo --flashinfer)
  PAL_KERNEL_DIR=$M timeout 80 $Q --label mqa-main $fi
  PAL_KERNEL_DIR=$M PAL_DECODE_TUNING=m_tiles=1 timeout 60 $Q --label mqa-m1
  PAL_KERNEL_DIR=$K PAL_DECODE_TUNING=m_tiles=1,min_split=256 timeout 60 $Q --label mqa-m1-s256-dsmem
done
} > $O/mqa.txt 2>&1
grep -E "TB/s|rror" $O/mqa.txt | sed 's/ hq32\/hkv1 d128 p16//'
# The fill's fp8 quotients by the scale's reciprocal and one correction (fill-fp8-reciprocal.patch):
# rates beside main's, bits against the CPU backend's (--check), two rounds, then its fp8 tests.
F=/tmp/f8d; rm -rf $F; cp -r crates/pal-core/kernels $F
patch -s -p4 -d $F < benchmarks/prepared/fill-fp8-reciprocal.patch || exit 1
P="python3 benchmarks/prepared/fill_probe.py --fp8"
{
PAL_KERNEL_DIR=$F timeout 60 $P --check --label recip --tokens 32768
for r in 1 2; do PAL_KERNEL_DIR=$M timeout 60 $P --label main; PAL_KERNEL_DIR=$F timeout 60 $P --label recip; done
} > $O/fill_fp8.txt 2>&1
grep -E "check" $O/fill_fp8.txt | grep -v ": equal"; grep -c ": equal" $O/fill_fp8.txt
grep RES $O/fill_fp8.txt | awk '{print $2, $3, $4, $5}' | sort -k2,2 -k3,3n -k1,1 -s
PAL_KERNEL_DIR=$F timeout 90 python3 -m pytest -q -p no:cacheprovider -n 12 -k "fill and cuda" tests/test_fp8.py tests/test_fill.py 2>&1 | tail -2
echo "timed $SECONDS s"
else
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
PAL_KERNEL_DIR=$K timeout 200 python3 -m pytest -q -p no:cacheprovider $par -k "decode or splits or graph" tests/test_cuda.py tests/test_fp8.py tests/test_variants.py tests/test_determinism.py > $O/tests.txt 2>&1; tail -2 $O/tests.txt
grep -E "^FAILED" $O/tests.txt | head
PAL_KERNEL_DIR=$K timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "splits or bad_page or ragged or 128-16- or cluster" > $O/memcheck.txt 2>&1; echo "memcheck rc $?"; grep -E "ERROR SUMMARY|passed|failed" $O/memcheck.txt | tail -3
fi
echo "done $SECONDS s"
