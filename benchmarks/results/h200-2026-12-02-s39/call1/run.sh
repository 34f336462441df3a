#!/bin/bash
# Prepared in session 38 for the next session's first call (carry gpu-bundle-pg as gpu-bundle, or
# rebuild): v24 (kv_b/v24) against pal copy bases (ppal), Q in 16-byte loads (pqo), V early (ve),
# all three (all3);
# probes first; nhd / pal MQA rows, D 64, page 1 / 4 (timing only; the suite is a second call).
. scripts/gpu_env.sh || exit 1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
for vd in ppal:128 pqo:128 ve:128 all3:128 all3:64; do v=${vd%:*}; d=${vd#*:}
  PAL_KERNEL_DIR=kv_b/$v PAL_DECODE_TUNING=wgmma=1 timeout 100 python3 kv_b/tf32_probe.py $d > $O/probe_${v}_$d.txt 2>&1; el "$v $d: $(tail -1 $O/probe_${v}_$d.txt | cut -c1-200)"
done
sweep() { timeout 60 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-220; }
R="--heads 32/1 --rows 32x4096 64x4096 128x2048 --layouts nhd pal"
for round in 1 2; do
  c="--compare $O/m"; [ $round = 1 ] && c="--save $O/m"
  PAL_KERNEL_DIR=kv_b/v24 sweep $R --label r$round-v24 $c
  for v in ppal pqo ve all3; do PAL_KERNEL_DIR=kv_b/$v sweep $R --label r$round-$v --compare $O/m; done
done 2>&1 | tee $O/sweep.txt; el sweep
{ for P in "--dim 64" "--page 1 --heads 64/1" "--page 4"; do
    X="--heads 32/1 --rows 32x4096 64x4096 $P"
    PAL_KERNEL_DIR=kv_b/v24 sweep $X --label "v24 $P" --save $O/x
    PAL_KERNEL_DIR=kv_b/all3 sweep $X --label "all3 $P" --compare $O/x; rm -rf $O/x
  done; } 2>&1 | tee $O/sweep_more.txt; el more
rm -rf $O/m
