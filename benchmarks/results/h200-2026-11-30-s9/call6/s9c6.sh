#!/bin/bash
# Session 9, call 6 (final form): Rust example under memcheck, whole suite, memcheck; the
# prefill kernels of call 5 against the final ones (pal value lanes), same run; the benchmark
# lab's prefill beside FlashInfer (FA2 and FA3 paths), nhd and pal.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 300 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests
echo "suite status $?"
tail -2 $O/suite/rust_example.log
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py"
PAL_KERNEL_DIR=kv_b/prev/kernels timeout 40 $S --label call5 --save /tmp/pv 2>&1 | grep TFLOP | tee $O/prefill.txt
timeout 40 $S --label final --compare /tmp/pv 2>&1 | grep TFLOP | tee -a $O/prefill.txt
R="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
for L in nhd pal; do
  timeout 150 python3 -m proxy_attention_lab.bench --ops prefill --prefill $R --layout $L --dtype bfloat16 --no-plots --out $O/lab-$L > $O/lab-$L.log 2>&1
  tail -n 25 $O/lab-$L.log
done
