#!/bin/bash
# Forty-seventh session, call 5: the final wheel (decode CTAs over two KV heads for 16-bit nhd
# rows at head dims 80 / 96 / 112 past an eighth of the SMs, three stages): the head dims'
# rows with the default rule and kv_heads=1 beside, then the whole pytest suite.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
for D in 80 96 112; do
  for knobs in "" kv_heads=1; do
    PAL_DECODE_TUNING=$knobs timeout 40 python3 scripts/decode_sweep.py --layouts nhd --rows 1x4096 8x4096 32x4096 64x4096 --dim $D --label "${knobs:-default}" 2>&1 | grep -v "^read" | grep -v "^$" | tail -4
  done
done
echo "== ($SECONDS s)"
bash scripts/kernel_suite.sh crates/pal-core/kernels $((590 - SECONDS)) pytest
echo "call done $SECONDS s"
