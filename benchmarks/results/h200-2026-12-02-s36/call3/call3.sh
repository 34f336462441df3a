#!/bin/bash
# Session 36, call 3: decode_tf32 v2 (operands straight from the split, no moves; lean read
# offsets) against v1 (lean offsets only) and CUDA cores, MIN_CTAS 2 / 3; routing of small grids.
. scripts/gpu_env.sh || exit 1
sweep() { timeout 80 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep kernel; }
for round in 1 2; do
  for v in v2 v2m3 v1 cuda; do
    case $v in
      v2) env=""; dir="";; v2m3) env="min_ctas=3"; dir="";; v1) env=""; dir="kv_b/tf32_v1";; cuda) env="tf32=0"; dir="";;
    esac
    export PAL_DECODE_TUNING=$env
    if [ -n "$dir" ]; then export PAL_KERNEL_DIR=$dir; else unset PAL_KERNEL_DIR; fi
    sweep --heads 32/1 --rows 8x4096 32x4096 64x4096 128x2048 --label "r$round-$v-mqa"
    if [ $round = 1 ]; then
      sweep --heads 32/2 --rows 8x4096 32x4096 64x4096 --label "r$round-$v-g16"
      sweep --heads 32/1 --dim 64 --rows 32x4096 --label "r$round-$v-d64"
      sweep --heads 32/1 --rows 1x4096 1x32768 --label "r$round-$v-small"
    fi
  done
done 2>&1 | tee $O/sweep.txt
unset PAL_KERNEL_DIR PAL_DECODE_TUNING
timeout 150 python3 scripts/ncu_report.py decode --dtype float32 --heads 32/1 --layout nhd --row 32x4096 --out $O/ncu-mqa 2>&1 | head -24
rm -f $O/ncu-mqa/source.csv
