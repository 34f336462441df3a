#!/bin/bash
# Session 15, call 6: the whole suite and memcheck on main's final kernels (the wheel of 19e4503:
# periodic copy plans, MUFU-only softmax exponentials, pal page-2 and fp8 pal page 4 / 8
# staging), then decode beside FlashInfer's best path (bf16, fp8 e4m3, MQA).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS="--timeout=120"
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 420 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests > $O/suite.txt 2>&1
echo "suite status $? ($SECONDS s)" | tee -a $O/suite.txt; rm -f $O/suite/gpu.txt
export PYTHONPATH=/tmp/site MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
row() { timeout 100 python3 scripts/decode_sweep.py --flashinfer "$@" 2>&1 | grep -E "TB/s|rror|failed" | tee -a $O/decode.txt; }
row --rows 1x4096 8x4096 1x32768 32x4096 64x4096 --label bf16
row --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 64x4096 --label fp8
row --heads 32/1 --rows 8x4096 32x4096 --layouts nhd --label mqa
echo "end ($SECONDS s)" | tee -a $O/decode.txt
