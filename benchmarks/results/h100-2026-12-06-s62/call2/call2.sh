#!/bin/bash
# Sixty-second session, call 2: the portable prefill's fragment addresses as shared-memory bases
# plus constants (pe: NVRTC 13.0 had hoisted 16 Q addresses out of the tile loop and spilled
# them), and that with the task in shared memory (pf), against main's (pbase): A/B rounds at
# D 128 (same bits?), pf beside FA2, D 64 / 256, then every CUDA prefill test on pf's portable path.
. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$O/gpu.txt"
export PAL_PREFILL_PATH=portable
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
ROUNDS=2 bash scripts/ab_rounds.sh "$O/ab128.txt" "python3 scripts/prefill_sweep.py --rows $ROWS --layouts nhd pal" pbase pe pf 2>&1 | tail -4
echo "ab128 done ($SECONDS s)"
PAL_KERNEL_DIR=kv_b/pf timeout 120 python3 scripts/prefill_sweep.py --rows $ROWS --layouts nhd pal \
  --flashinfer fa2 --rounds 3 --label pf > "$O/fa2-pf.txt" 2>&1
echo "fa2 pf rc $? ($SECONDS s)"; grep -E "TFLOP|rror" "$O/fa2-pf.txt" | tail -10
for dim in 64 256; do
  ROUNDS=1 bash scripts/ab_rounds.sh "$O/ab$dim.txt" "python3 scripts/prefill_sweep.py --dim $dim --rows 4x4096+0 4x1024+8192 --layouts nhd pal" pbase pf 2>&1 | tail -2
done
echo "dims done ($SECONDS s)"
workers=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
PAL_KERNEL_DIR=$PWD/kv_b/pf timeout $((585 - SECONDS)) python3 -m pytest -q -x -p no:cacheprovider $workers tests -k "prefill and cuda" > "$O/tests-pf.txt" 2>&1
echo "tests rc $? ($SECONDS s)"; tail -2 "$O/tests-pf.txt"; grep -E "^FAILED" "$O/tests-pf.txt" | cut -c1-250 | head -5
