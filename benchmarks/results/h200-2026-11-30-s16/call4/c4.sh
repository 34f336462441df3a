#!/bin/bash
# Session 16, call 4: the wheel of the shared pal V steps (pages >= 32) and the small-grid split
# floor: decode tests, then A/B against main's kernels (kv_b/mk, same bits expected) beside
# FlashInfer, and the split rows.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
timeout 200 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py tests/test_variants.py \
  -k "decode and not cpu" > "$O/tests.txt" 2>&1
echo "tests rc $? ($SECONDS s)" | tee -a "$O/ab.txt"; tail -3 "$O/tests.txt" | tee -a "$O/ab.txt"
for page in 128 64 32; do
  D="python3 scripts/decode_sweep.py --layouts pal --page $page --rows 8x4096 32x4096 1x32768"
  PAL_KERNEL_DIR=kv_b/mk timeout 60 $D --label mk-p$page --save /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 100 $D --flashinfer --label sv-p$page --compare /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
for page in 128 64 32; do
  D="python3 scripts/decode_sweep.py --layouts pal --page $page --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn"
  PAL_KERNEL_DIR=kv_b/mk timeout 60 $D --label mk-fp8-p$page --save /tmp/ab8$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 60 $D --label sv-fp8-p$page --compare /tmp/ab8$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
D="python3 scripts/decode_sweep.py --layouts pal --page 128 --rows 32x4096"
for dim in 64 256; do
  PAL_KERNEL_DIR=kv_b/mk timeout 60 $D --dim $dim --label mk-d$dim --save /tmp/abd$dim 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 60 $D --dim $dim --label sv-d$dim --compare /tmp/abd$dim 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
echo "ab end ($SECONDS s)" | tee -a "$O/ab.txt"
timeout 100 python3 scripts/decode_sweep.py --flashinfer --heads 32/1 --layouts nhd pal --rows 1x4096 2x4096 8x4096 --label mqa 2>&1 | grep -E "TB/s|rror" | tee -a "$O/split.txt"
echo "c4 end ($SECONDS s)" | tee -a "$O/split.txt"
