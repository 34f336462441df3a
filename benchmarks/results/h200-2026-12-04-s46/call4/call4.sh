#!/bin/bash
# Forty-sixth session, call 4 (the final wheel: 16-bit MQA grids up to a pair an SM on one
# m-tile, `cuda/decode.rs` m_tiles; kernels unchanged): MQA beside FlashInfer on the default
# path, one m-tile against two where the rule was not measured (head dim 64, HQ 64 / HKV 2, fp8),
# then the whole pytest suite.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py"
timeout 60 $S --layouts pal nhd --heads 32/1 --rows 32x4096 64x4096 128x2048 256x1024 --flashinfer 2>&1 | grep -v "^$" | tail -9
for case in "--heads 32/1 --dim 64" "--heads 64/2" "--heads 32/1 --kv-dtype float8_e4m3fn"; do
  for m in 1 2; do
    [ $SECONDS -gt 95 ] && break 2
    PAL_DECODE_TUNING=m_tiles=$m timeout 40 $S --layouts nhd $case --rows 32x4096 64x4096 128x2048 --label "m_tiles=$m" 2>&1 | grep -v "^$" | grep -v "^read" | tail -3
  done
done
echo "== ($SECONDS s)"
bash scripts/kernel_suite.sh crates/pal-core/kernels $((590 - SECONDS)) pytest
echo "call done $SECONDS s"
