#!/bin/bash
# Sixty-third session, call 4: kv_b/pf2 (the registers patch with the tile pointers' form kept
# term by term where the task stays in registers: D 64 / 192 / 256 main loops as main's) against
# main's kernels on the portable path, two rounds, every head dim, no-history / history /
# many-CTA rows; D 80 / 96 decide whether the task goes to shared memory there.
. scripts/gpu_env.sh || exit 1
export PAL_PREFILL_PATH=portable
rm -rf kv_b/mainK && mkdir -p kv_b/mainK && cp -r crates/pal-core/kernels/. kv_b/mainK
for dim in 80 96 64 256; do
  ROUNDS=2 bash scripts/ab_rounds.sh "/tmp/d$dim.txt" \
    "python3 scripts/prefill_sweep.py --dim $dim --rows 4x4096+0 4x1024+8192 16x1024+0 --layouts nhd pal" mainK pf2 | tail -1
  [ $SECONDS -gt 330 ] && break
done
cat /tmp/d*.txt > "$O/dims.txt"; cat /tmp/d*.verdict > "$O/verdicts.txt"
