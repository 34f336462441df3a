#!/bin/bash
# Session 37, call 4: the landed form of the wgmma TF32 decode (wA: its own family, 64-key
# splits, a separate maxima exchange) and w4 (each warp copies the V dims it reads, K issued
# right after the warp's S) against decode_tf32 (wgmma=0); correctness probes first.
. scripts/gpu_env.sh || exit 1
for v in wA w4; do for d in 128 64; do
  PAL_KERNEL_DIR=kv_b/$v PAL_DECODE_TUNING=wgmma=1 timeout 100 python3 kv_b/tf32_probe.py $d > $O/probe_${v}_$d.txt 2>&1; echo "$v: $(tail -1 $O/probe_${v}_$d.txt | cut -c1-300)"
done; done
sweep() { timeout 80 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-300; }
R="--heads 32/1 --rows 8x4096 16x4096 32x4096 64x4096 128x2048 1x32768 --layouts nhd pal"
for round in 1 2; do
  c="--compare $O/m"; [ $round = 1 ] && c="--save $O/m"
  PAL_DECODE_TUNING=wgmma=0 sweep $R --label r$round-v2 $c
  for v in wA w4; do PAL_KERNEL_DIR=kv_b/$v PAL_DECODE_TUNING=wgmma=1 sweep $R --label r$round-$v --compare $O/m; done
done 2>&1 | tee $O/sweep.txt
D="--heads 32/1 --rows 32x4096 64x4096 --dim 64"
{ PAL_DECODE_TUNING=wgmma=0 sweep $D --label d64-v2 --save $O/m64
  for v in wA w4; do PAL_KERNEL_DIR=kv_b/$v PAL_DECODE_TUNING=wgmma=1 sweep $D --label d64-$v --compare $O/m64; done
  PAL_DECODE_TUNING=wgmma=0 sweep --heads 64/1 --rows 32x4096 --page 1 --label p1-v2 --save $O/p1
  for v in wA w4; do PAL_KERNEL_DIR=kv_b/$v PAL_DECODE_TUNING=wgmma=1 sweep --heads 64/1 --rows 32x4096 --page 1 --label p1-$v --compare $O/p1; done
} 2>&1 | tee $O/sweep64.txt
rm -rf $O/m $O/m64 $O/p1
