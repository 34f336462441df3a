#!/bin/bash
# Sixty-fifth session, call 6: pal's exponentials within each V form's code (pe) against
# the landed kernels (fin, 4bb16fe), two rounds; then the prefill tests on pe, memcheck beside (after the timing).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable
rm -rf kv_b/fin && cp -r crates/pal-core/kernels kv_b/fin
for spec in "128:16x1024+0 4x4096+0 4x1024+8192 8x512+4096" "80:16x1024+0 4x1024+8192" "64:4x4096+0 4x1024+8192" \
            "96:16x1024+0 4x1024+8192" "256:16x1024+0 4x1024+8192"; do
  dim=${spec%%:*} rows=${spec#*:}
  [ $SECONDS -gt 50 ] && { echo "skip d$dim ($SECONDS s)"; continue; }
  # shellcheck disable=SC2086
  ROUNDS=2 bash scripts/ab_rounds.sh "$O/ab_d$dim.txt" "python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal --rows $rows" \
    fin pe > /dev/null 2>&1
  echo "== d$dim ($SECONDS s)"; cat "$O/ab_d$dim.txt.verdict"
done
cat "$O"/ab_d*.txt > "$O/ab.txt"; cat "$O"/ab_d*.verdict > "$O/ab.verdict"; rm -f "$O"/ab_d*
PAL_KERNEL_DIR=kv_b/pe timeout 70 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider \
  tests/test_cuda.py -k "prefill_matches or every_page_size or pal_small_pages or prefill_bad or swizzled_rows" > "$O/memcheck.txt" 2>&1 &
mc=$!
PAL_KERNEL_DIR=kv_b/pe timeout 70 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_variants.py \
  tests/test_full_attention.py tests/test_fp8.py -k prefill > "$O/tests.txt" 2>&1
echo "tests rc $? ($SECONDS s)"; tail -2 "$O/tests.txt"; grep -E "^FAILED" "$O/tests.txt" | head
wait $mc; echo "memcheck rc $? ($SECONDS s)"; tail -2 "$O/memcheck.txt"
