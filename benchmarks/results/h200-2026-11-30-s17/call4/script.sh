#!/bin/bash
# s17 call 4: the final form (V of pal pages 64+ by tensor copies) beside FlashInfer in one run.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
for page in 64 128; do
  timeout 90 python3 scripts/decode_sweep.py --flashinfer --layouts nhd pal --page $page --rows 8x4096 32x4096 1x32768 64x4096 --label final-p$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
timeout 90 python3 scripts/decode_sweep.py --flashinfer --layouts nhd pal --page 64 --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn --label final-fp8-p64 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
timeout 90 python3 scripts/decode_sweep.py --flashinfer --layouts nhd pal --page 128 --dim 256 --rows 8x4096 32x4096 --label final-d256 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
echo "end ($SECONDS s)" | tee -a "$O/ab.txt"
