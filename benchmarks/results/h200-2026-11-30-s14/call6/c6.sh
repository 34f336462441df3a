#!/bin/bash
# Session 14, call 6 (final form): the wheel of 36a8278 (fp8 history tiles scaled without a
# compare, pal lane pages and 8-slot V halves, page-1 pools on the nhd kernels): the whole
# suite, memcheck and the Rust example, then decode rows beside FlashInfer and the page sizes.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS="--timeout=120"
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 400 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests > $O/suite.txt 2>&1; echo "suite status $? ($SECONDS s)" | tee -a $O/suite.txt
rm -f $O/suite/gpu.txt
export PYTHONPATH=/tmp/site
timeout $((500 - SECONDS)) python3 scripts/decode_sweep.py --rows 1x4096 8x4096 1x32768 32x4096 64x4096 --label final --flashinfer 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
timeout $((580 - SECONDS)) python3 scripts/decode_sweep.py --rows 32x4096 --extra --label final-extra 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
echo "end ($SECONDS s)" | tee -a $O/decode.txt
