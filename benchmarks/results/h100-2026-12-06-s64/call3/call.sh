#!/bin/bash
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
rm -rf kv_b/mainK && mkdir -p kv_b/mainK && cp -r crates/pal-core/kernels/. kv_b/mainK
export PAL_PREFILL_PATH=portable
for dim in 192 80 96; do
  ROUNDS=2 bash scripts/ab_rounds.sh "/tmp/ab$dim.txt" \
    "python3 scripts/prefill_sweep.py --dim $dim --rows 4x4096+0 4x1024+8192 --layouts nhd pal" mainK fin | tail -2
done
cat /tmp/ab*.txt /tmp/ab*.verdict > "$O/ab_dims.txt"
echo "ab done $SECONDS s"
for dim in 64 256; do
  PAL_KERNEL_DIR=kv_b/fin timeout $(( (570 - SECONDS) / (dim == 64 ? 2 : 1) )) python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal \
    --rows 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 --flashinfer fa2 --rounds 3 --label "fin-d$dim" 2>&1 |
    tee -a "$O/dims_fa2.txt" | grep -E "TFLOP|rror"
done
echo "done $SECONDS s"
