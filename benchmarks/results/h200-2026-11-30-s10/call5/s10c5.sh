#!/bin/bash
# Session 10, call 5 (final form, prompt tiles partial at the end through the row plan): the Rust example under memcheck, the whole suite, memcheck
# (two streams included); the prefill kernels by graph replay (against the portable kernel's
# output); the benchmark lab's prefill beside FlashInfer (FA3 path) in nhd and pal; ncu of nhd
# 16 x 1024.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 320 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests
echo "suite status $?"
cat $O/suite/gpu.txt; rm $O/suite/gpu.txt  # (eight files come back)
export PYTHONPATH=/tmp/site
timeout 40 python3 scripts/prefill_sweep.py --label final --check 2>&1 | grep TFLOP | tee $O/prefill.txt
R="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
for L in nhd pal; do
  timeout 150 python3 -m proxy_attention_lab.bench --ops prefill --prefill $R --layout $L --dtype bfloat16 --no-plots --out $O/lab-$L > $O/lab-$L.log 2>&1
  tail -n 25 $O/lab-$L.log
done
timeout 90 python3 scripts/ncu_report.py prefill --layout nhd --row 16x1024+0 --out /tmp/ncu-nhd-16x1024 2>&1 | head -24
