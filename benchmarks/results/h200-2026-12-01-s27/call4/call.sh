#!/bin/bash
# Twenty-seventh session, call 4 (main's wheel; kv_b/m27b: main's kernels at ded9653, kv_b/pv4:
# pal page-4 values by lane pairs, 0.98x in call 3's two noisy rounds): pv4 again over three
# rounds; the history rows beside FA3 at every page size, both layouts, on main's kernels; ncu of
# pal page 2 on main (producer-bound before the K bases?).
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096"
ROUNDS=3 bash scripts/ab_rounds.sh "$O/pal4.txt" "$S --layouts pal --page 4" m27b pv4
for page in 1 2 4 8 16 32 64 128; do
  PAL_KERNEL_DIR=kv_b/m27b timeout 60 python3 -u scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts nhd pal \
    --page $page --flashinfer fa3 --label main 2>&1 | tee -a "$O/fa3.txt"
done
PAL_KERNEL_DIR=kv_b/m27b timeout 80 python3 scripts/ncu_report.py prefill --layout pal --page 2 --row 4x1024+8192 \
  --out "$O/ncu-pal-p2" 2>&1 | tail -60
gzip -f "$O/ncu-pal-p2/source.csv"
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
rm -f "$O"/*.verdict
echo "end ($SECONDS s)"
