#!/bin/bash
# Session 8, call 2: the host-path wheel (DLPack exchange, abi3-py310, one lookup) with the
# decode kernel whose copies take immediate offsets (A; B = A + O rescaled only when a max
# moves): whole suite + memcheck on A (the wheel's own kernels), decode speed and bits of
# main / A / B, host cost and eager latency beside FlashInfer.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 300 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests
echo "suite status $?"
tail -2 $O/suite/rust_example.log
export PYTHONPATH=/tmp/site
R="--rows 1x4096 1x32768 8x4096 32x4096 64x4096"
for v in main A B; do
  extra=$([ $v = main ] && echo "--save /tmp/ds" || echo "--compare /tmp/ds")
  PAL_KERNEL_DIR=kv_b/kern/$v timeout 45 python3 scripts/decode_sweep.py --label $v --layouts pal nhd hnd $R $extra 2>&1 | grep -v "^ " | tee -a $O/sweep.txt
done
for v in main A B; do
  extra=$([ $v = main ] && echo "--save /tmp/ds8" || echo "--compare /tmp/ds8")
  PAL_KERNEL_DIR=kv_b/kern/$v timeout 30 python3 scripts/decode_sweep.py --label $v-fp8 --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 $extra 2>&1 | grep -v "^ " | tee -a $O/sweep.txt
done
timeout 60 python3 scripts/decode_sweep.py --label A-fi --flashinfer $R 2>&1 | grep -v "^ " | tee -a $O/sweep.txt
timeout 45 python3 scripts/call_overhead.py --flashinfer 2>&1 | tee $O/call_overhead.txt
timeout 60 python3 scripts/call_overhead.py --flashinfer --latency 2>&1 | tee $O/latency.txt
