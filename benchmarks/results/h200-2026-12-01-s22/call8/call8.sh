#!/bin/bash
# Twenty-second session, call 8 (measurement): the landed Hopper prefill with 64-key tiles and
# 3-5 slots (PAL_PREFILL_TUNING) against its default 128-key tiles and 3 slots.
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 16x1024+0 1x4096+0 8x512+4096"
timeout 40 $S --label default --save /tmp/d 2>&1 | tee -a "$O/tiles.txt"
for t in keys=64 keys=64,stages=4 keys=64,stages=5; do
  PAL_PREFILL_TUNING=$t timeout 40 $S --label $t --compare /tmp/d 2>&1 | tee -a "$O/tiles.txt"
done
timeout 40 $S --label default --compare /tmp/d 2>&1 | tee -a "$O/tiles.txt"
echo "end ($SECONDS s)"
