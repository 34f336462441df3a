. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
timeout 120 bash benchmarks/prepared/next_calls.sh probes 2>&1 | tail -45
if grep -q "pal permuted: verify no error, mismatches 0 of" "$O/tma_pal.txt"; then
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle-tk/*.whl || exit 1
  PAL_KERNEL_DIR=kv_b/tk timeout 150 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py \
    -k "pal_pages_over or (paths_at_every_page and pal and default)" > "$O/tk_tests.txt" 2>&1
  echo "tk tests rc $? ($SECONDS s)"; tail -2 "$O/tk_tests.txt"; grep -E "^FAILED|rror" "$O/tk_tests.txt" | head
  for page in 16 128; do
    [ $SECONDS -gt 420 ] && break
    ROUNDS=2 bash scripts/ab_rounds.sh "/tmp/tk_p$page.txt" \
      "python3 scripts/prefill_sweep.py --page $page --rows 4x1024+8192 8x512+4096 --layouts pal" tk1 tk | tail -3
  done
  cat /tmp/tk_*.txt /tmp/tk_*.verdict > "$O/tk_ab.txt" 2>/dev/null
fi
echo "done ($SECONDS s)"
