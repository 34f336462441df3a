#!/bin/bash
# Forty-sixth session, call 2: the 16-bit wgmma decode with two K / V slots (tile j + 2 copied
# while tile j is read; call 1's one slot ran 0.85-0.93x mma.sync). (1) MQA timing, mma.sync
# (wgmma=0) against wgmma (wgmma=1), two rounds; (2) the large-group test (every dtype).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py --layouts pal nhd --heads 32/1"
R="--rows 16x4096 32x4096 64x4096 128x2048 256x1024"
for round in 1 2; do
  PAL_DECODE_TUNING=wgmma=0 timeout 100 $S $R --label mma 2>&1 | grep -v "^$" | tail -11
  PAL_DECODE_TUNING=wgmma=1 timeout 100 $S $R --label wgmma2 2>&1 | grep -v "^$" | tail -11
  [ $SECONDS -gt 150 ] && break
done
echo "== large groups ($SECONDS s)"
timeout $((420 - SECONDS)) python3 -m pytest -q -x tests/test_cuda.py -k large_groups_on_full_grids -p no:cacheprovider 2>&1 | tail -8
echo "call done $SECONDS s"
