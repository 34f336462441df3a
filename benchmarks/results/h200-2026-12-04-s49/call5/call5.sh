#!/bin/bash
# Session 49, call 5: issue 13's head dims 96 / 80 on Hopper (PAL's portable prefill there) beside
# FlashInfer's FA2 prefill path in the same run (its JIT compiles each head dim's module first).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call5.sh $O/
for dim in 96 80; do
  timeout $((330 - SECONDS)) python3 scripts/prefill_sweep.py --dim $dim --rows 4x4096+0 4x1024+8192 --layouts nhd pal --flashinfer fa2 --label d$dim 2>&1 | grep -E "TFLOP|rror" | cut -c1-200
  echo "== ($SECONDS s)"
done | tee $O/prefill_fa2.txt
echo "call done $SECONDS s"
