#!/bin/bash
# Session 35, call 7: the small bf16 rows' fixed time after the lab's flush (per-CTA stamps,
# kv_b/ds = decode-stamps.patch, `--flush`), beside the same rows timed; `nhd` and `pal`.
. scripts/gpu_env.sh || exit 1
python3 scripts/decode_sweep.py --label main --rows 1x4096 8x4096 1x32768 2>&1 | grep -E "us|rror"
for l in nhd pal; do
  echo "== bf16 $l --flush"; PAL_KERNEL_DIR=kv_b/ds python3 benchmarks/prepared/decode_stamps.py --layout $l --rows 1x4096 8x4096 1x32768 --flush
done
echo "== bf16 nhd warm"; PAL_KERNEL_DIR=kv_b/ds python3 benchmarks/prepared/decode_stamps.py --layout nhd --rows 1x4096 8x4096 1x32768
echo "done $SECONDS s"
