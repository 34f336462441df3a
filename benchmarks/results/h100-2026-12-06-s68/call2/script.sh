#!/bin/bash
# Sixty-eighth session, call 2 (next_calls.sh d64-ctas at f7779e6, as it stood): D 64, the
# default against three register budgets / tile depths, two rounds in turn.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable
for round in 1 2; do
  for t in "" "keys=32,min_ctas=3" "keys=32" "min_ctas=3"; do
    PAL_PREFILL_TUNING=$t timeout 60 python3 scripts/prefill_sweep.py --dim 64 --layouts nhd pal \
      --rows 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 --label "ctas[$t]" 2>&1 | tee -a "$O/d64_ctas.txt" | grep TFLOP
  done
done
