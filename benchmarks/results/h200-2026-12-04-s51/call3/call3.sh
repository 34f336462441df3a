#!/bin/bash
# Session 51, call 3: memcheck on the padded-pal-values candidate (the suite's three workloads and
# the pal small-page tests at head dims 80-112), then issue 13's table beside FlashInfer if time is left.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call3.sh $O/
rm -rf kv_b/pv && mkdir -p kv_b/pv && cp -r crates/pal-core/kernels/. kv_b/pv
git apply --directory=kv_b/pv -p4 benchmarks/prepared/prefill-wgmma-padded-pal-values.patch || exit 1
git apply benchmarks/prepared/prefill-padded-pal-tests.patch || exit 1
bash scripts/kernel_suite.sh kv_b/pv 200 memcheck
echo "== ($SECONDS s)"
PAL_KERNEL_DIR=kv_b/pv timeout $((320 - SECONDS)) compute-sanitizer --tool memcheck --print-limit 20 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "pal_small_pages and (96 or 80 or 112)" > $O/memcheck_pal_dims.txt 2>&1; echo "rc $?"; tail -4 $O/memcheck_pal_dims.txt
echo "== memcheck done ($SECONDS s)"
timeout $((590 - SECONDS)) python3 scripts/prefill_sweep.py --rows 4x4096+0 4x1024+8192 8x512+4096 4x2048+8192 \
  --layouts nhd pal --flashinfer fa3 fa2 --label main 2>&1 | tee "$O/table.txt" | grep -E "TFLOP|rror|x " | tail -30
echo "call done $SECONDS s"
