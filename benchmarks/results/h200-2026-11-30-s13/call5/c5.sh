#!/bin/bash
# Session 13, call 5 (final form): the wheel of main + decode evict-first K/V copies as a kernel
# key (EVICT_FIRST, host rule: reads <= 4x L2) + the Hopper prefill's ping-pong consumers: the
# whole suite, memcheck and the Rust example first, then decode rows beside FlashInfer.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS="--timeout=120"
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 380 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests > $O/suite.txt 2>&1; echo "suite status $? ($SECONDS s)" | tee -a $O/suite.txt
rm -f $O/suite/gpu.txt
export PYTHONPATH=/tmp/site
timeout $((440 - SECONDS)) python3 scripts/decode_sweep.py --rows 1x4096 2x4096 4x4096 8x4096 16x4096 1x32768 32x4096 64x4096 --label final --flashinfer 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
echo "end ($SECONDS s)" | tee -a $O/decode.txt
