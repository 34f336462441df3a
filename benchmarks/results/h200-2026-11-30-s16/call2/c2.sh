#!/bin/bash
# Session 16, call 2: upper bound of contiguous pal V copies at pages >= 32 (kv_b/v16: V read as
# if the page held 16 slots; wrong values, timing only) against main's kernels (kv_b/mk); the
# split floor halved on tiny grids (knob min_split=128) on the rows the rule would touch.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
for page in 32 64 128; do
  D="python3 scripts/decode_sweep.py --layouts pal --page $page --rows 8x4096 32x4096"
  PAL_KERNEL_DIR=kv_b/mk timeout 60 $D --label mk-p$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/v16.txt"
  PAL_KERNEL_DIR=kv_b/v16 timeout 60 $D --label v16-p$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/v16.txt"
done
D="python3 scripts/decode_sweep.py --layouts pal --page 64 --rows 32x4096 --kv-dtype float8_e4m3fn"
PAL_KERNEL_DIR=kv_b/mk timeout 60 $D --label mk-fp8-p64 2>&1 | grep -E "TB/s|rror" | tee -a "$O/v16.txt"
PAL_KERNEL_DIR=kv_b/v16 timeout 60 $D --label v16-fp8-p64 2>&1 | grep -E "TB/s|rror" | tee -a "$O/v16.txt"
echo "v16 end ($SECONDS s)" | tee -a "$O/v16.txt"
for knob in "" min_split=128; do
  PAL_DECODE_TUNING=$knob timeout 100 python3 scripts/decode_sweep.py --flashinfer --heads 32/1 --layouts nhd --rows 1x4096 2x4096 1x2048 --label "mqa $knob" 2>&1 | grep -E "TB/s|rror" | tee -a "$O/split.txt"
  PAL_DECODE_TUNING=$knob timeout 100 python3 scripts/decode_sweep.py --flashinfer --layouts nhd pal --rows 1x1024 1x2048 2x1024 1x300 --label "gqa $knob" 2>&1 | grep -E "TB/s|rror" | tee -a "$O/split.txt"
done
echo "c2 end ($SECONDS s)" | tee -a "$O/split.txt"
