#!/bin/bash
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
rm -rf kv_b/mainK && mkdir -p kv_b/mainK && cp -r crates/pal-core/kernels/. kv_b/mainK
export PAL_PREFILL_PATH=portable
for dim in 96 80; do
  ROUNDS=2 bash scripts/ab_rounds.sh "/tmp/ab$dim.txt" \
    "python3 scripts/prefill_sweep.py --dim $dim --rows 4x4096+0 16x1024+0 4x1024+8192 --layouts nhd pal" mainK fin fkh | tail -3
done
cat /tmp/ab*.txt /tmp/ab*.verdict > "$O/ab_me.txt"
echo "done $SECONDS s"
