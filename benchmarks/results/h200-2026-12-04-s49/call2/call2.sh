#!/bin/bash
# Session 49, call 2: memcheck on the candidate (bounded soft-cap prefill + pal small-page fill;
# its pytest half passed in call 1), then issue 13's portable prefill on Hopper at head dims 80 /
# 96 / 112 with 64-key tiles (the default: they spill 20 / 76 / 268 bytes) against 32-key tiles,
# then the pal fill at pages of 128 by the default 32-token tiles against 64 / 128.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call2.sh $O/
bash scripts/kernel_suite.sh crates/pal-core/kernels 330 memcheck
echo "== ($SECONDS s)"
for dim in 80 96 112; do
  for knobs in "" keys=32; do
    PAL_PREFILL_TUNING=$knobs timeout 50 python3 scripts/prefill_sweep.py --dim $dim --rows 4x4096+0 16x1024+0 4x1024+8192 --layouts nhd pal --label "d$dim-${knobs:-default}" 2>&1 | grep -vE "^\s*$" | tail -7
  done
done | tee $O/prefill_keys.txt
echo "== ($SECONDS s)"
for knobs in "" tokens=64 tokens=128; do
  PAL_FILL_TUNING=$knobs timeout 40 python3 benchmarks/prepared/fill_probe.py --label "p128-${knobs:-default}" --page 128 --layouts pal,nhd --tokens 32768,4096 2>&1 | grep -E "RES|rror"
done | tee $O/fill128.txt
echo "call done $SECONDS s"
