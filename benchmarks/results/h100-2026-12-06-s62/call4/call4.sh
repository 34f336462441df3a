#!/bin/bash
# Sixty-second session, call 4: the landing form (kv_b/ph = crates/pal-core/kernels) under the
# whole GPU suite with memcheck beside it, after the portable path's head-dim 80 / 112 variant
# tests (main's truncated pal K copy, mended here).
. scripts/gpu_env.sh || exit 1
export PAL_KERNEL_DIR=$PWD/kv_b/ph
PAL_PREFILL_PATH=portable timeout 90 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_variants.py \
  -k "head_dims_between_swizzle_blocks or soft_caps_at_other_head_dims" --tb=line > "$O/portable-headdims.txt" 2>&1
echo "portable head-dim tests rc $? ($SECONDS s)"; tail -1 "$O/portable-headdims.txt"
PAL_SUITE_WORKERS=16 timeout $((440 - SECONDS)) bash scripts/gpu_suite.sh gpu-bundle /tmp/suite tests > /tmp/suite.txt 2>&1
echo "suite rc $? ($SECONDS s)"
tail -25 /tmp/suite.txt
cp /tmp/suite/pytest.log /tmp/suite/memcheck.log /tmp/suite/rust_example.log /tmp/suite/gpu.txt "$O/" 2>/dev/null
grep -E "ERROR SUMMARY" /tmp/suite/memcheck-*.log | sort | uniq -c
