#!/bin/bash
# Session 37, call 3: wgmma TF32 decode, one K and one V tile a CTA released apart (w2: two CTAs an
# SM at D 128, three at D 64) against main's TF32 decode and the first wgmma form (w1).
. scripts/gpu_env.sh || exit 1
W=kv_b/w2
PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=7,min_ctas=2 timeout 100 python3 kv_b/tf32_probe.py 128 > $O/probe128.txt 2>&1; tail -2 $O/probe128.txt | cut -c1-300
PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=8,min_ctas=3 timeout 100 python3 kv_b/tf32_probe.py 64 > $O/probe64.txt 2>&1; tail -2 $O/probe64.txt | cut -c1-300
sweep() { timeout 80 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-300; }
R="--heads 32/1 --rows 8x4096 32x4096 64x4096 128x2048 1x32768 --layouts nhd pal"
for round in 1 2; do
  c="--compare $O/m"; [ $round = 1 ] && c="--save $O/m"
  sweep $R --label r$round-main $c
  PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=7,min_ctas=2 sweep $R --label r$round-w2 --compare $O/m
done 2>&1 | tee $O/sweep.txt
D="--heads 32/1 --rows 32x4096 64x4096 --dim 64"
{ sweep $D --label d64-main --save $O/m64
  PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=8,min_ctas=3 sweep $D --label d64-w2c3 --compare $O/m64
  PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=8,min_ctas=2 sweep $D --label d64-w2c2 --compare $O/m64; } 2>&1 | tee $O/sweep64.txt
{ sweep --heads 64/1 --rows 32x4096 --page 1 --label p1-main --save $O/p1; PAL_KERNEL_DIR=$W PAL_DECODE_TUNING=stages=7,min_ctas=2 sweep --heads 64/1 --rows 32x4096 --page 1 --label p1-w2 --compare $O/p1; } 2>&1 | tee $O/sweep_p1.txt
rm -rf $O/m $O/m64 $O/p1
