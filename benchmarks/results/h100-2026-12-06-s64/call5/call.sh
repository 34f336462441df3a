#!/bin/bash
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/kv_b/hyb
timeout 300 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
  -k "prefill_matches or every_page_size or between_swizzle or pal_small_pages or prefill_bad" > "$O/memcheck.txt" 2>&1 &
mc=$!
timeout 300 python3 -m pytest -q -p no:cacheprovider -n 14 tests -k "prefill or full_attention or random" > "$O/pytest.txt" 2>&1
echo "pytest rc $? ($SECONDS s)"; tail -3 "$O/pytest.txt"; grep -E "^FAILED" "$O/pytest.txt" | head
wait $mc; echo "memcheck rc $? ($SECONDS s)"; tail -3 "$O/memcheck.txt"
