#!/bin/bash
# Session 38, call 2: K / V fragments read up front (pf), and with one page base a warp's rows
# (pfa, nhd / hnd in pages of 16 and more) against main's wgmma decode (m0).
. scripts/gpu_env.sh || exit 1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
for vd in pf:128 pfa:128 pfa:64; do v=${vd%:*}; d=${vd#*:}
  PAL_KERNEL_DIR=kv_b/$v PAL_DECODE_TUNING=wgmma=1 timeout 100 python3 kv_b/tf32_probe.py $d > $O/probe_${v}_$d.txt 2>&1; el "$v $d: $(tail -1 $O/probe_${v}_$d.txt | cut -c1-200)"
done
sweep() { timeout 60 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-220; }
R="--heads 32/1 --rows 32x4096 64x4096 128x2048 --layouts nhd pal"
for round in 1 2; do
  c="--compare $O/m"; [ $round = 1 ] && c="--save $O/m"
  PAL_KERNEL_DIR=kv_b/m0 sweep $R --label r$round-m0 $c
  for v in pf pfa; do PAL_KERNEL_DIR=kv_b/$v sweep $R --label r$round-$v --compare $O/m; done
done 2>&1 | tee $O/sweep.txt; el sweep
{ D="--heads 32/1 --rows 32x4096 64x4096 --dim 64"
  PAL_KERNEL_DIR=kv_b/m0 sweep $D --label d64-m0 --save $O/m64
  PAL_KERNEL_DIR=kv_b/pfa sweep $D --label d64-pfa --compare $O/m64
  H="--heads 64/2 --rows 32x4096 --layouts nhd pal"
  PAL_KERNEL_DIR=kv_b/m0 sweep $H --label h64-m0 --save $O/h
  PAL_KERNEL_DIR=kv_b/pfa sweep $H --label h64-pfa --compare $O/h
  P="--heads 32/1 --rows 32x4096 --page 64 --layouts nhd"
  PAL_KERNEL_DIR=kv_b/m0 sweep $P --label p64-m0 --save $O/p
  PAL_KERNEL_DIR=kv_b/pfa sweep $P --label p64-pfa --compare $O/p
} 2>&1 | tee $O/sweep64.txt; el sweep64
rm -rf $O/m $O/m64 $O/h $O/p
PAL_KERNEL_DIR=kv_b/pfa timeout 120 python3 scripts/ncu_report.py decode --dtype float32 --heads 32/1 --layout nhd --row 64x4096 --out $O/ncu > $O/ncu_pfa.txt 2>&1; el ncu
head -12 $O/ncu_pfa.txt; grep -A8 "warp stall samples" $O/ncu_pfa.txt | cut -c1-160; rm -f $O/ncu/source.csv
