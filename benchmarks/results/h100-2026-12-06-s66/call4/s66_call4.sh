#!/bin/bash
# Sixty-sixth session, call 4 (H100): pal's D 256 value copies wrote 4x the ideal shared
# wavefronts (call 3, ncu). Against main's kernels (mainK): vmap (a quarter-warp takes eight dims
# of one run), vswz (the [dim][key] swizzle's two group bits swapped at 32-key tiles), vboth.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable
for spec in "256:16x1024+0 4x1024+8192 8x512+4096" "192:4x1024+8192"; do
  dim=${spec%%:*} rows=${spec#*:}
  # shellcheck disable=SC2086
  ROUNDS=2 bash scripts/ab_rounds.sh "$O/ab_d$dim.txt" "python3 scripts/prefill_sweep.py --dim $dim --layouts pal --rows $rows" \
    mainK vmap vswz vboth > /dev/null 2>&1
  echo "== d$dim ($SECONDS s)"; cat "$O/ab_d$dim.txt.verdict"
done
for v in vmap vswz; do
  PAL_KERNEL_DIR=$PWD/kv_b/$v timeout 50 python3 scripts/ncu_report.py prefill --layout pal --dim 256 --row 8x512+4096 --out /tmp/ncu-$v \
    > "$O/ncu256-$v.txt" 2>&1
  echo "ncu $v rc $? ($SECONDS s)"; grep -E "Duration|Excessive" "$O/ncu256-$v.txt"
done
