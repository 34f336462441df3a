#!/bin/bash
# Session 15, call 8: MQA decode beside FlashInfer's tensor-core path (its plan wants a 256 MB
# workspace; its CUDA-core path refuses group 32).
export PYTHONUNBUFFERED=1
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
timeout 120 python3 scripts/decode_sweep.py --flashinfer --heads 32/1 --rows 1x4096 8x4096 32x4096 64x4096 --layouts nhd --label mqa 2>&1 | grep -E "TB/s|rror|failed" | tee -a $O/decode.txt
echo "end ($SECONDS s)" | tee -a $O/decode.txt
