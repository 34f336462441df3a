#!/bin/bash
# Sixty-second session, call 3: pg (the landing form: fragment addresses as shared bases plus
# constants everywhere, the task in shared memory at two m-tiles of 80-128 dims) against main's
# portable prefill (pbase): why call 2's head-dim 80 / 112 pal tests failed on the portable path
# (both kernels), A/B at D 128 / 64 / 112 / 256, then every CUDA prefill test on pg's portable path.
. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$O/gpu.txt"
export PAL_PREFILL_PATH=portable
workers=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
for v in pbase pg; do
  PAL_KERNEL_DIR=$PWD/kv_b/$v timeout 100 python3 -m pytest -q -p no:cacheprovider $workers tests/test_cuda.py \
    -k "head_dims_between_swizzle_blocks" --tb=line > /tmp/hd-$v.txt 2>&1
  echo "== head-dim tests on $v: rc $? ($SECONDS s)"; grep -E "^FAILED|Error|assert|mismatch|passed|failed" /tmp/hd-$v.txt | cut -c1-300 | head -12
done
cat /tmp/hd-pbase.txt /tmp/hd-pg.txt > "$O/headdim-tests.txt"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
ROUNDS=2 bash scripts/ab_rounds.sh "$O/ab128.txt" "python3 scripts/prefill_sweep.py --rows $ROWS --layouts nhd pal" pbase pg 2>&1 | tail -2
for dim in 64 112 256; do
  ROUNDS=2 bash scripts/ab_rounds.sh /tmp/ab$dim.txt "python3 scripts/prefill_sweep.py --dim $dim --rows 4x4096+0 4x1024+8192 --layouts nhd pal" pbase pg 2>&1 | tail -2
  cat /tmp/ab$dim.txt /tmp/ab$dim.txt.verdict >> "$O/ab-dims.txt"
done
echo "ab done ($SECONDS s)"
PAL_KERNEL_DIR=$PWD/kv_b/pg timeout $((585 - SECONDS)) python3 -m pytest -q -p no:cacheprovider $workers tests -k "prefill and cuda" --tb=line > "$O/tests-pg.txt" 2>&1
echo "tests rc $? ($SECONDS s)"; tail -2 "$O/tests-pg.txt"; grep -E "^FAILED" "$O/tests-pg.txt" | cut -c1-250 | head -12
