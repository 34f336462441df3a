#!/bin/bash
# Twenty-seventh session, call 3 (main's wheel; kernel folders: kv_b/m27b main at ded9653,
# kv_b/pv4 with pal page-4 values copied by lane pairs (a pair per dim, one page each: whole
# 16-byte rows), kv_b/tp4 with page 4's values transposed by the producer at head dim 128 too):
# A/B/A/B at pal page 4, D 128; the whole suite and memcheck on the winner; ncu of the winner
# (or main) at pal page 4 and of main at nhd page 16, as time allows.
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096"
bash scripts/ab_rounds.sh "$O/pal4.txt" "$S --layouts pal --page 4" m27b pv4 tp4
win=$(head -1 "$O/pal4.txt.verdict" | sed -n 's/^suite //p')
if [ -n "$win" ]; then
  bash scripts/kernel_suite.sh "kv_b/$win" 330
else
  win=m27b
fi
for c in "pal 4 $win" "nhd 16 m27b"; do
  set -- $c
  [ $SECONDS -gt 470 ] && break
  PAL_KERNEL_DIR=kv_b/$3 timeout 80 python3 scripts/ncu_report.py prefill --layout $1 --page $2 --row 4x1024+8192 \
    --out "$O/ncu-$1-p$2" 2>&1 | tail -60
  gzip -f "$O/ncu-$1-p$2/source.csv"
  echo "== ncu $1 page $2 ($3) done ($SECONDS s)"
done
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
rm -f "$O"/*.verdict
echo "end ($SECONDS s)"
