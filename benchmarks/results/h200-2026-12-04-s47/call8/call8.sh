#!/bin/bash
# Forty-seventh session, call 8: two KV heads a CTA for 16-bit nhd rows of 128 bytes (head dim
# 64: a head's row is one line, so a warp's tile holds 16 of them) against one; then the whole
# pytest suite on this wheel.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
for knobs in "" kv_heads=1; do
  PAL_DECODE_TUNING=$knobs timeout 40 python3 scripts/decode_sweep.py --layouts nhd --rows 8x4096 32x4096 64x4096 --dim 64 --label "${knobs:-default}" 2>&1 | grep -v "^read" | grep -v "^$" | tail -3
done
timeout 30 python3 scripts/decode_sweep.py --layouts pal --rows 8x4096 32x4096 64x4096 --dim 64 --label ref 2>&1 | grep -v "^read" | grep -v "^$" | tail -3
echo "== ($SECONDS s)"
bash scripts/kernel_suite.sh crates/pal-core/kernels $((590 - SECONDS)) pytest
echo "call done $SECONDS s"
