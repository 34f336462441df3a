#!/bin/bash
# Session 38, call 5 (timing only, for the next session): groups of 17-31 / 33-63 on wgmma
# (decode-wgmma-partial-groups.patch's host, the landed v24 kernels) against decode_tf32
# (wgmma=0), and ncu of v24 in the pal layout.
. scripts/gpu_env.sh || exit 1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
timeout 150 python3 -m pytest -q -x tests/test_cuda.py -k "large_groups" -p no:cacheprovider 2>&1 | tail -2; el pytest
sweep() { timeout 60 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-220; }
for h in 20/1 48/1 40/2; do
  G="--heads $h --rows 32x4096 64x4096 --layouts nhd pal"
  PAL_DECODE_TUNING=wgmma=0 sweep $G --label tf32 --save $O/g
  sweep $G --label wgmma --compare $O/g
  rm -rf $O/g
done 2>&1 | tee $O/sweep_groups.txt; el sweep
timeout 120 python3 scripts/ncu_report.py decode --dtype float32 --heads 32/1 --layout pal --row 64x4096 --out $O/ncu > $O/ncu_pal.txt 2>&1; el ncu
head -12 $O/ncu_pal.txt; grep -A14 "warp stall samples" $O/ncu_pal.txt | cut -c1-160; grep -A12 "hottest straight" $O/ncu_pal.txt | cut -c1-100; rm -f $O/ncu/source.csv
