#!/bin/bash
# Session 16, call 3: a fair upper bound of contiguous pal V copies at pages >= 32 (kv_b/v16f:
# each 16-key tile reads its own 4 KB of the page's V block, as one run: the same DRAM bytes,
# 512-byte runs per copy instruction; wrong values, timing only) against main (kv_b/mk).
export PYTHONUNBUFFERED=1
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
for page in 128 64 32; do
  D="python3 scripts/decode_sweep.py --layouts pal --page $page --rows 8x4096 32x4096"
  PAL_KERNEL_DIR=kv_b/mk timeout 60 $D --label mk-p$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/v16f.txt"
  PAL_KERNEL_DIR=kv_b/v16f timeout 60 $D --label v16f-p$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/v16f.txt"
done
D="python3 scripts/decode_sweep.py --layouts pal --page 64 --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn"
PAL_KERNEL_DIR=kv_b/mk timeout 60 $D --label mk-fp8-p64 2>&1 | grep -E "TB/s|rror" | tee -a "$O/v16f.txt"
PAL_KERNEL_DIR=kv_b/v16f timeout 60 $D --label v16f-fp8-p64 2>&1 | grep -E "TB/s|rror" | tee -a "$O/v16f.txt"
echo "c3 end ($SECONDS s)" | tee -a "$O/v16f.txt"
