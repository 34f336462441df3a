#!/bin/bash
# s17 call 6: TMA_TILE with deeper rings (fp8 4-KB stages: 6 stages still fit two CTAs per SM).
export PYTHONUNBUFFERED=1
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
D8="python3 scripts/decode_sweep.py --layouts pal --page 16 --rows 8x4096 32x4096 64x4096 --kv-dtype float8_e4m3fn"
PAL_DECODE_TUNING=tma=0 timeout 60 $D8 --label lanes-fp8 --save /tmp/ab8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
for st in 4 6; do
  PAL_DECODE_TUNING=stages=$st timeout 60 $D8 --label tile-fp8-s$st --compare /tmp/ab8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  PAL_DECODE_TUNING=stages=$st,tma=0 timeout 60 $D8 --label lanes-fp8-s$st --compare /tmp/ab8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
echo "end ($SECONDS s)" | tee -a "$O/ab.txt"
