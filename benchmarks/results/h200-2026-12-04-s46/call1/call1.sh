#!/bin/bash
# Forty-sixth session, call 1: the 16-bit wgmma decode (decode_wgmma.cuh, groups over 16 on
# Hopper) on its first GPU run. (1) Correctness: the large-group test in every dtype, then every
# decode test with PAL_DECODE_TUNING=wgmma=1 (every group over 16 at head dims 64 / 128 on wgmma,
# whatever its grid); (2) MQA timing, mma.sync (wgmma=0) against wgmma (wgmma=1), FlashInfer.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
echo "== large groups ($SECONDS s)"
timeout 200 python3 -m pytest -q -x tests/test_cuda.py -k large_groups_on_full_grids -p no:cacheprovider 2>&1 | tail -15
echo "== every decode test on wgmma ($SECONDS s)"
PAL_DECODE_TUNING=wgmma=1 timeout 200 python3 -m pytest -q tests/ -k "decode and not large_groups" -p no:cacheprovider 2>&1 | tail -15
echo "== MQA timing ($SECONDS s)"
S="python3 scripts/decode_sweep.py --layouts pal nhd --heads 32/1"
R="--rows 8x4096 16x4096 32x4096 64x4096 128x2048 256x1024"
for round in 1 2; do
  PAL_DECODE_TUNING=wgmma=0 timeout 100 $S $R --label mma 2>&1 | grep -v "^$" | tail -14
  PAL_DECODE_TUNING=wgmma=1 timeout 100 $S $R --label wgmma 2>&1 | grep -v "^$" | tail -14
done
[ $SECONDS -lt 480 ] && timeout $((570 - SECONDS)) $S $R --flashinfer --label default 2>&1 | grep -v "^$" | tail -14
echo "call done $SECONDS s"
