#!/bin/bash
# Twenty-third session, call 3: where small decode batches' time goes and what the split plan
# buys there. The decode stamps (decode-stamps.patch, kv_b/ds) on GQA and MQA small rows, then
# decode_sweep beside FlashInfer in the same run with the split plan's lab knobs
# (PAL_DECODE_TUNING min_split / fill) on GQA (32/8) and MQA (32/1) rows, both layouts.
. scripts/gpu_env.sh || exit 1
for lay in nhd pal; do
  PAL_KERNEL_DIR=kv_b/ds timeout 100 python3 benchmarks/prepared/decode_stamps.py --layout $lay \
    --rows 1x4096 1x4096:1 2x4096:1 8x4096 1x32768 2>&1 | sed "s/^/$lay /" | tee -a "$O/stamps.txt"
done
G="python3 scripts/decode_sweep.py --rows 1x4096 2x4096 4x4096 8x4096 1x32768"
M="python3 scripts/decode_sweep.py --heads 32/1 --rows 1x4096 2x4096 4x4096 8x4096 32x4096"
for t in default min_split=64 min_split=32 fill=2; do
  tune=$t; [ $t = default ] && tune=
  fi=; [ $t = default ] && fi=--flashinfer
  PAL_DECODE_TUNING=$tune timeout 120 $G $fi --label "gqa-$t" 2>&1 | grep -v "^|" | tee -a "$O/gqa.txt"
  PAL_DECODE_TUNING=$tune timeout 120 $M $fi --label "mqa-$t" 2>&1 | grep -v "^|" | tee -a "$O/mqa.txt"
done
echo "end ($SECONDS s)"
