#!/bin/bash
# A/B rounds of kernel variants on the GPU machine, then their verdict: for each round, each
# variant's kernel folder (kv_b/NAME, PAL_KERNEL_DIR) runs the same sweep command, the first
# variant's first run saving its outputs and every other run comparing against them (same
# bits?); `scripts/ab_verdict.py` then reads the lines (the first variant is the baseline).
#   bash scripts/ab_rounds.sh OUT_FILE "python3 scripts/prefill_sweep.py --rows ..." mainK pp [more ...]
# Labels are the folder names, `mainK` read as `main`. ROUNDS (default 2), FLOOR (0.97) and
# GAIN (1.01) from the environment. Prints the verdict last and keeps it in OUT_FILE.verdict;
# its first line starts with "suite NAME" where a variant won.
out=$1 sweep=$2
shift 2
saved=$(mktemp -d)
for round in $(seq "${ROUNDS:-2}"); do
  for v in "$@"; do
    label=$v
    [ "$v" = mainK ] && label=main
    if [ "$round" = 1 ] && [ "$v" = "$1" ]; then check="--save $saved"; else check="--compare $saved"; fi
    # shellcheck disable=SC2086
    PAL_KERNEL_DIR=kv_b/$v timeout 150 $sweep --label "$label" $check 2>&1 | tee -a "$out"
  done
done
baseline=$1
[ "$baseline" = mainK ] && baseline=main
shift
candidates=()
for v in "$@"; do candidates+=("$([ "$v" = mainK ] && echo main || echo "$v")"); done
python3 scripts/ab_verdict.py "$out" --baseline "$baseline" --candidates "${candidates[@]}" \
  --floor "${FLOOR:-0.97}" --gain "${GAIN:-1.01}" | tee "$out.verdict"
