#!/bin/bash
# Session 15, call 7: decode beside FlashInfer's best path over the rows issue 11 also names
# (MQA, MHA, page sizes 1-128; fp8 pages 4 / 8), main's final kernels (the wheel of 19e4503).
export PYTHONUNBUFFERED=1
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
row() { timeout 100 python3 scripts/decode_sweep.py --flashinfer "$@" 2>&1 | grep -E "TB/s|rror|failed" | tee -a $O/decode.txt; }
row --heads 32/1 --rows 8x4096 32x4096 --label mqa
row --heads 32/32 --rows 8x4096 --label mha
for page in 1 2 4 8 32 64 128; do row --page $page --rows 8x4096 32x4096 --label p$page; done
for page in 4 8; do row --kv-dtype float8_e4m3fn --page $page --rows 32x4096 --label fp8-p$page; done
echo "end ($SECONDS s)" | tee -a $O/decode.txt
