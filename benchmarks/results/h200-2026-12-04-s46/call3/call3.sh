#!/bin/bash
# Forty-sixth session, call 3: MQA (HQ 32 / HKV 1) on mma.sync, where the 16-bit wgmma lost
# (calls 1-2): the tensor-core decode's lab knobs over the dense MQA rows (warps, stages,
# m-tiles, split floor, waves), then ncu of the default at 64 x 4096 (stall reasons).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py --layouts pal nhd --heads 32/1"
R="--rows 32x4096 64x4096 128x2048 256x1024"
for knobs in "" warps=8,stages=2 warps=6,stages=2 stages=4 m_tiles=1 min_split=128 fill=2 min_ctas=2; do
  PAL_DECODE_TUNING=wgmma=0${knobs:+,$knobs} timeout 60 $S $R --label "mma${knobs:+,$knobs}" 2>&1 | grep -v "^$" | grep -v "^read" | tail -8
done
echo "== ncu ($SECONDS s)"
PAL_DECODE_TUNING=wgmma=0 timeout 200 python3 scripts/ncu_report.py decode --layout nhd --row 64x4096 --heads 32/1 --out "$O/ncu-mqa" 2>&1 | tail -45
rm -f "$O/ncu-mqa/source.csv"
echo "call done $SECONDS s"
