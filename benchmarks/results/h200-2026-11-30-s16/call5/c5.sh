#!/bin/bash
# Session 16, call 5: the whole GPU suite and memcheck on the final wheel, then the rows this
# session changed beside FlashInfer (its best path; it runs the nhd rows).
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 400 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests > $O/suite.txt 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a $O/suite.txt
rm -f $O/suite/gpu.txt
export PYTHONPATH=/tmp/site
for page in 128 64; do
  timeout 70 python3 scripts/decode_sweep.py --flashinfer --layouts nhd pal --page $page --rows 8x4096 32x4096 1x32768 --label p$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/decode.txt"
done
for page in 4 2; do
  timeout 60 python3 scripts/decode_sweep.py --flashinfer --layouts nhd hnd --page $page --rows 8x4096 32x4096 --label p$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/decode.txt"
done
timeout 60 python3 scripts/decode_sweep.py --flashinfer --layouts nhd --page 4 --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn --label fp8-p4 2>&1 | grep -E "TB/s|rror" | tee -a "$O/decode.txt"
echo "c5 end ($SECONDS s)" | tee -a "$O/decode.txt"
