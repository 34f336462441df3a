. scripts/gpu_env.sh || exit 1
M=crates/pal-core/kernels
par=$(python3 -c "import xdist" 2>/dev/null && echo "-n 12")
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
fi=
for t in default min_split=64 min_split=256 fill=2; do
  knob=$([ $t = default ] && echo m_tiles=1 || echo m_tiles=1,$t)
  PAL_DECODE_TUNING=$knob timeout 40 $Q --label $t $fi
  fi=
done
} > $O/mqa.txt 2>&1
grep -E "TB/s|rror" $O/mqa.txt | sort -k2,2 -k3,3 -k1,1 -s
echo "mqa $SECONDS s"
timeout 90 python3 -m pytest -q -p no:cacheprovider $par -k "groups" tests/test_cuda.py tests/test_fp8.py > $O/groups_main.txt 2>&1; tail -2 $O/groups_main.txt
echo "done $SECONDS s"
