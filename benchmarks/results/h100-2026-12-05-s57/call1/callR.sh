. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
ROUNDS=2 bash scripts/ab_rounds.sh "$O/rk.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 4x2048+8192 4x4096+0 16x1024+0 --layouts nhd pal" st rk | tail -3
# soft-capped: the turn after the S wait (sc) against the landed turn after the tanh / max (st)
for round in 1 2; do for v in st sc; do echo "== $v round $round"
  PAL_KERNEL_DIR=kv_b/$v timeout 60 python3 scripts/variant_sweep.py --ops prefill --variants soft-cap
done; done > "$O/sc.txt" 2>&1; grep -E "==|soft-cap|plain" "$O/sc.txt" | grep -v "^|"
left=$((170 - SECONDS)); [ $left -gt 30 ] && PAL_KERNEL_DIR=kv_b/rk timeout $left python3 -m pytest -q -p no:cacheprovider -n 14 \
  tests/test_cuda.py tests/test_variants.py tests/test_fp8.py -k prefill > "$O/rk_tests.txt" 2>&1
echo "tests rc $? ($SECONDS s)"; tail -2 "$O/rk_tests.txt"; grep -E "^FAILED" "$O/rk_tests.txt" | head
echo "done ($SECONDS s)"
