#!/bin/bash
# Session 36, call 7: decode_tf32 v3 (each K / V word split once a CTA into fragment-ordered
# tiles, PAL_KERNEL_DIR=kv_b/tf32_v3 with the host's stages knob at 7 for its 112 KB) against v2
# (main), two rounds; outputs compared bit for bit.
. scripts/gpu_env.sh || exit 1
sweep() { timeout 80 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel|same|differ|max"; }
for round in 1 2; do
  unset PAL_KERNEL_DIR PAL_DECODE_TUNING
  sweep --heads 32/1 --rows 8x4096 32x4096 64x4096 --label "r$round-v2-mqa" --save $O/v2mqa
  sweep --heads 32/2 --rows 32x4096 --label "r$round-v2-g16" --save $O/v2g16
  export PAL_KERNEL_DIR=kv_b/tf32_v3 PAL_DECODE_TUNING=stages=7
  sweep --heads 32/1 --rows 8x4096 32x4096 64x4096 --label "r$round-v3-mqa" --compare $O/v2mqa
  sweep --heads 32/2 --rows 32x4096 --label "r$round-v3-g16" --compare $O/v2g16
done 2>&1 | tee $O/sweep.txt
rm -rf $O/v2mqa $O/v2g16
