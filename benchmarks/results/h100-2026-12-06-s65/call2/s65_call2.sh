#!/bin/bash
# Sixty-fifth session, call 2 (H100): the portable prefill's Q loads / output stores by 32-bit
# row offsets in every layout (ro), and with the rows' sums of P on the tensor cores (rors: a
# fragment a tile; rors2: accumulated into the sums), against main's kernels, two rounds.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable
cp -r crates/pal-core/kernels kv_b/mainK
V="mainK ro rors rors2"
for spec in "128:16x1024+0 4x4096+0 4x1024+8192 8x512+4096" "64:16x1024+0 4x4096+0 4x1024+8192" \
            "256:16x1024+0 4x4096+0 4x1024+8192" "96:16x1024+0 4x1024+8192" "112:16x1024+0 4x1024+8192"; do
  dim=${spec%%:*} rows=${spec#*:}
  [ $SECONDS -gt 470 ] && { echo "skip d$dim ($SECONDS s)"; continue; }
  # shellcheck disable=SC2086
  ROUNDS=2 bash scripts/ab_rounds.sh "$O/ab_d$dim.txt" "python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal --rows $rows" \
    $V > /dev/null 2>&1
  echo "== d$dim ($SECONDS s)"; cat "$O/ab_d$dim.txt.verdict"
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
