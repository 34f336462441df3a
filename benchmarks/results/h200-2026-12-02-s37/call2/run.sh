#!/bin/bash
# Session 37, call 2: the prepared wgmma TF32 decode (host compiling sm_90a on Hopper) against
# main's TF32 decode: correctness probe at D 128 / 64, then two rounds of MQA rows.
. scripts/gpu_env.sh || exit 1
W=kv_b/p_decode-tf32-wgmma
PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=12,min_ctas=1 timeout 100 python3 kv_b/tf32_probe.py 128 > $O/probe128.txt 2>&1; tail -3 $O/probe128.txt | cut -c1-300
PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=13,min_ctas=1 timeout 100 python3 kv_b/tf32_probe.py 64 > $O/probe64.txt 2>&1; tail -3 $O/probe64.txt | cut -c1-300
sweep() { timeout 80 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-300; }
R="--heads 32/1 --rows 8x4096 32x4096 64x4096 128x2048 1x32768 --layouts nhd pal"
for round in 1 2; do
  c="--compare $O/m"; [ $round = 1 ] && c="--save $O/m"
  sweep $R --label r$round-main $c
  PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=12,min_ctas=1 sweep $R --label r$round-wgmma --compare $O/m
done 2>&1 | tee $O/sweep.txt
D="--heads 32/1 --rows 32x4096 64x4096 --dim 64"
{ sweep $D --label d64-main --save $O/m64; PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=13,min_ctas=1 sweep $D --label d64-wgmma --compare $O/m64; } 2>&1 | tee $O/sweep64.txt
{ sweep --heads 64/1 --rows 32x4096 --page 1 --label p1-main --save $O/p1; PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=12,min_ctas=1 sweep --heads 64/1 --rows 32x4096 --page 1 --label p1-wgmma --compare $O/p1; } 2>&1 | tee $O/sweep_p1.txt
rm -rf $O/m $O/m64 $O/p1
