#!/bin/bash
# Twenty-sixth session, call 5 (main's wheel, 0ef5154): call 4's transposed values (kv_b/tv) ran
# page 2 at 0.99x and page 4 at 0.75x (both 319 TFLOP/s: a fixed cost) but head dim 64 page 2 at
# 1.21x: finished a tile late, each tile waited for the next one's slot. kv_b/tv2 finishes the
# tile before while its slot is still busy (a warp-uniform test of the empty barrier), kv_b/tv3
# always before waiting for the slot. A/B/A/B against main (kv_b/m26), then the whole suite and
# memcheck on page 2's winner.
. scripts/gpu_env.sh || exit 1
for page in 2 4; do
  bash scripts/ab_rounds.sh "$O/p$page.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 4x2048+8192 --layouts pal \
    --page $page" m26 tv2 tv3
done
for page in 2 4; do
  ROUNDS=1 bash scripts/ab_rounds.sh "$O/p${page}d64.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal \
    --page $page --dim 64" m26 tv2 tv3
done
win=$(head -1 "$O/p2.txt.verdict" | sed -n 's/^suite //p')
if [ -n "$win" ]; then
  echo "== suite on $win"
  PAL_KERNEL_DIR=kv_b/$win timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
  echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
  grep -E "^FAILED|^____" "$O/suite/pytest.log" | head -20
  rm -rf "$O/suite"
fi
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
rm -f "$O"/*.verdict  # (printed above: at most eight files come back)
echo "end ($SECONDS s)"
