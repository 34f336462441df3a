#!/bin/bash
# Twenty-seventh session, call 2 (main's wheel; kernel folders: kv_b/m27b main at ded9653,
# kv_b/m27r main without the producer loop's dead branch, kv_b/bp8 that plus `pal` pages of 8
# by bulk copies with a page-major K tile): the pal page-8 tests on bp8, A/B bp8 against main at
# page 8 (D 128 / 64), the dead-branch removal at page 2 and fp8, the pal small pages beside FA3.
# (The suite runs in the next call, on what won.)
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/bp8 timeout 100 python3 -m pytest -q -p no:cacheprovider $(python3 -c "import xdist" 2>/dev/null && echo "-n 12") \
  tests/test_cuda.py -k "prefill and pal" > "$O/bp8_tests.txt" 2>&1; tail -3 "$O/bp8_tests.txt"
S="python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096"
bash scripts/ab_rounds.sh "$O/pal8.txt" "$S --layouts pal --page 8" m27b bp8
ROUNDS=1 bash scripts/ab_rounds.sh "$O/pal8d64.txt" "$S --layouts pal --page 8 --dim 64" m27b bp8
ROUNDS=1 bash scripts/ab_rounds.sh "$O/dead.txt" "$S --layouts pal --page 2" m27b m27r
ROUNDS=1 bash scripts/ab_rounds.sh "$O/deadf8.txt" "$S --layouts pal nhd --kv-dtype float8_e4m3fn" m27b m27r
for page in 2 4 8; do
  PAL_KERNEL_DIR=kv_b/bp8 timeout 100 python3 -u scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal nhd \
    --page $page --flashinfer fa3 --label bp8 2>&1 | tee -a "$O/fa3.txt"
done
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
rm -f "$O"/*.verdict
echo "end ($SECONDS s)"
