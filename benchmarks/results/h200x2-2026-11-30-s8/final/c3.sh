#!/bin/bash
# Session 8, call 3 (final form, two H200s): Rust example under memcheck, whole suite (the
# several-GPU tests too), memcheck; decode beside FlashInfer (bf16, fp8); the Hopper prefill
# before / after the shared-address change; eager latency beside FlashInfer's run().
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 330 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests
echo "suite status $?"
tail -2 $O/suite/rust_example.log
export PYTHONPATH=/tmp/site
timeout 80 python3 scripts/decode_sweep.py --label final --flashinfer --json $O/decode_bf16.json --rows 1x4096 1x32768 8x4096 32x4096 64x4096 128x2048 256x1024 2>&1 | grep -v "^ " | tee $O/sweep.txt
timeout 60 python3 scripts/decode_sweep.py --label final-fp8 --flashinfer --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 64x4096 128x2048 256x1024 2>&1 | grep -v "^ " | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/kern/main timeout 50 python3 scripts/prefill_sweep.py --label main-kernels --save /tmp/pf 2>&1 | grep -v "^ " | tee $O/prefill.txt
timeout 50 python3 scripts/prefill_sweep.py --label final --compare /tmp/pf 2>&1 | grep -v "^ " | tee -a $O/prefill.txt
timeout 50 python3 scripts/call_overhead.py --flashinfer --latency 2>&1 | tee $O/latency.txt
timeout 40 python3 scripts/call_overhead.py --flashinfer 2>&1 | tee $O/call_overhead.txt
