#!/bin/bash
# Call 6: the final portable prefill beside FlashInfer's FA2 path in one run, and ncu of its
# 16 x 1024 row (the furthest from FA2).
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
export PAL_PREFILL_PATH=portable
timeout 100 python3 scripts/prefill_sweep.py --label final --flashinfer fa2 2>&1 | tee -a $O/sweep.txt
timeout 100 python3 scripts/ncu_report.py prefill --layout nhd --row 16x1024+0 --out $O/ncu-nhd-16x1024 2>&1 | tail -30 | tee -a $O/ncu.txt
echo "done ($SECONDS s)"
