#!/bin/bash
# Session 15, call 1: the prepared decode patches (fp8 pal pages 8/4: kv_b/f8; 16-bit pal page 2:
# kv_b/p2), their tests and A/B rows with bits compared; then the two stamp instruments
# (decode: kv_b/ds2, prefill: kv_b/ps), never run before.
O=${OUT:-/tmp/out}; mkdir -p "$O"
bash benchmarks/prepared/first_call.sh
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
PAL_KERNEL_DIR=kv_b/ds2 timeout 150 python3 benchmarks/prepared/decode_stamps.py --rows 1x4096 8x4096 1x32768 32x4096 32x4096:1 > "$O/dstamps.txt" 2>&1
echo "decode stamps rc $? ($SECONDS s)" | tee -a "$O/log.txt"
PAL_KERNEL_DIR=kv_b/ps timeout 120 python3 benchmarks/prepared/prefill_stamps.py --layouts nhd pal --rows 16x1024+0 1x4096+0 4x4096+0 4x1024+8192 > "$O/pstamps.txt" 2>&1
echo "prefill stamps rc $? ($SECONDS s)" | tee -a "$O/log.txt"
