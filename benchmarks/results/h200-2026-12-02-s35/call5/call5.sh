#!/bin/bash
# Session 35, call 5: where fp8 32 x 4096's fixed ~17 us go (its rate past 32 sequences is the
# ceiling's: 48 x 4096 - 32 x 4096 ran 134 MB in 31 us). Per-CTA stamps (decode-stamps.patch,
# kv_b/ds) warm and after a 256 MB zeroing (as timed), fp8 and bf16 `pal`; the same rows timed.
. scripts/gpu_env.sh || exit 1
python3 scripts/decode_sweep.py --label main --kv-dtype float8_e4m3fn --layouts pal --rows 8x4096 32x4096 48x4096 2>&1 | grep -E "us|rror"
python3 scripts/decode_sweep.py --label main --layouts pal --rows 32x4096 48x4096 2>&1 | grep -E "us|rror"
for f in "" --flush; do
  echo "== fp8 $f"; PAL_KERNEL_DIR=kv_b/ds python3 benchmarks/prepared/decode_stamps.py --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 48x4096 $f
  echo "== bf16 $f"; PAL_KERNEL_DIR=kv_b/ds python3 benchmarks/prepared/decode_stamps.py --rows 32x4096 48x4096 $f
done
echo "done $SECONDS s"
