#!/bin/bash
# Sixty-fifth session, call 4 (H100): head dim 192 (the tensor-core row sums, unmeasured there)
# against main's kernels, then the landed form beside FlashInfer's FA2 at D 128 / 64 / 256.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable
rm -rf kv_b/fin && cp -r crates/pal-core/kernels kv_b/fin
ROUNDS=2 bash scripts/ab_rounds.sh "$O/ab_d192.txt" "python3 scripts/prefill_sweep.py --dim 192 --layouts nhd pal --rows 16x1024+0 4x4096+0 4x1024+8192" \
  mainK fin > /dev/null 2>&1
echo "== d192 ($SECONDS s)"; cat "$O/ab_d192.txt.verdict"
export PAL_KERNEL_DIR=$PWD/kv_b/fin
timeout 200 python3 scripts/prefill_sweep.py --dim 128 --layouts nhd pal --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 \
  --flashinfer fa2 --rounds 3 --label d128 2>&1 | tee "$O/fa2.txt" | grep -E "TFLOP|rror" | tail -30
echo "($SECONDS s)"
for dim in 64 256; do
  timeout $(( (560 - SECONDS) / (dim == 64 ? 2 : 1) )) python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal \
    --rows 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 --flashinfer fa2 --rounds 3 --label "d$dim" 2>&1 |
    tee -a "$O/fa2.txt" | grep -E "TFLOP|rror" | tail -24
  echo "($SECONDS s)"
done
