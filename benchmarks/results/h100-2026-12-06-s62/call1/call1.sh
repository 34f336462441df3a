#!/bin/bash
# Sixty-second session, call 1: the portable prefill with its task in shared memory (pd2: fewer
# registers held across the tile loop, so ptxas loads K / V fragments further ahead of their mma)
# against main's (pbase): two A/B rounds (same bits?), then each beside FlashInfer's FA2 path in
# turn (3 rounds a row).
. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$O/gpu.txt"
export PAL_PREFILL_PATH=portable
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
ROUNDS=2 bash scripts/ab_rounds.sh "$O/ab.txt" "python3 scripts/prefill_sweep.py --rows $ROWS --layouts nhd pal" pbase pd2 2>&1 | tail -12
echo "ab done ($SECONDS s)"
for v in pbase pd2; do
  [ $SECONDS -gt 500 ] && break
  PAL_KERNEL_DIR=kv_b/$v timeout $((580 - SECONDS)) python3 scripts/prefill_sweep.py --rows $ROWS --layouts nhd pal \
    --flashinfer fa2 --rounds 3 --label $v > "$O/fa2-$v.txt" 2>&1
  echo "fa2 $v rc $? ($SECONDS s)"; grep -E "TFLOP|rror" "$O/fa2-$v.txt" | tail -12
done
