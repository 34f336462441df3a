#!/bin/bash
# Session 38, call 4: pfa with each warp's next K issued right after its S (pek), timing only.
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/pek PAL_DECODE_TUNING=wgmma=1 timeout 60 python3 kv_b/tf32_probe.py 128 > $O/probe_pek_128.txt 2>&1; echo "pek: $(tail -1 $O/probe_pek_128.txt)"
sweep() { timeout 60 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-220; }
R="--heads 32/1 --rows 32x4096 64x4096 128x2048 --layouts nhd pal"
for round in 1 2; do
  c="--compare $O/m"; [ $round = 1 ] && c="--save $O/m"
  PAL_KERNEL_DIR=kv_b/pfa sweep $R --label r$round-pfa $c
  PAL_KERNEL_DIR=kv_b/pek sweep $R --label r$round-pek --compare $O/m
done 2>&1 | tee $O/sweep.txt; rm -rf $O/m
