. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
ROUNDS=3 bash scripts/ab_rounds.sh "$O/rk2.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 4x2048+8192 4x4096+0 16x1024+0 --layouts nhd pal" st rk | tail -2
PAL_KERNEL_DIR=kv_b/rk timeout 240 python3 -m pytest -q -p no:cacheprovider -n 14 \
  tests/test_cuda.py tests/test_variants.py tests/test_fp8.py -k prefill > "$O/rk_tests.txt" 2>&1
echo "tests rc $? ($SECONDS s)"; tail -2 "$O/rk_tests.txt"; grep -E "^FAILED" "$O/rk_tests.txt" | head
