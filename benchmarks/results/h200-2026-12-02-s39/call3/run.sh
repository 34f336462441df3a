#!/bin/bash
# Session 39, call 3 (timing and profile, no landing decision): v25 (kv_b/pqp, landed) against
# v24 on the page-16 MQA rows in two rounds; groups of 20 / 48 / 40 on v25 against decode_tf32
# (wgmma=0); ncu of v25 at MQA 64 x 4096 nhd and pal, for the next lever.
. scripts/gpu_env.sh || exit 1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
sweep() { timeout 60 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-200; }
R="--heads 32/1 --rows 32x4096 64x4096 128x2048 --layouts nhd pal"
for round in 1 2; do
  c="--compare $O/m"; [ $round = 1 ] && c="--save $O/m"
  PAL_KERNEL_DIR=kv_b/v24 sweep $R --label r$round-v24 $c
  PAL_KERNEL_DIR=kv_b/pqp sweep $R --label r$round-v25 --compare $O/m
done 2>&1 | tee $O/sweep.txt; el sweep; rm -rf $O/m
for h in 20/1 48/1 40/2; do
  G="--heads $h --rows 32x4096 64x4096 --layouts nhd pal"
  PAL_KERNEL_DIR=kv_b/pqp PAL_DECODE_TUNING=wgmma=0 sweep $G --label tf32 --save $O/g
  PAL_KERNEL_DIR=kv_b/pqp sweep $G --label v25 --compare $O/g
  rm -rf $O/g
done 2>&1 | tee $O/sweep_groups.txt; el groups
for L in nhd pal; do
  PAL_KERNEL_DIR=kv_b/pqp timeout 120 python3 scripts/ncu_report.py decode --dtype float32 --heads 32/1 --layout $L --row 64x4096 --out $O/ncu_$L > $O/ncu_$L.txt 2>&1; el ncu $L
  mv $O/ncu_$L/details.txt $O/ncu_details_$L.txt 2>/dev/null; [ $L = nhd ] && gzip -c $O/ncu_$L/source.csv > $O/source_$L.csv.gz; rm -rf $O/ncu_$L
  head -12 $O/ncu_$L.txt; grep -A14 "warp stall samples" $O/ncu_$L.txt | cut -c1-160
done
ls $O
