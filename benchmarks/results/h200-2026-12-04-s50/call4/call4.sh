#!/bin/bash
# Session 50, call 4: the Hopper prefill's 128-wide tiles at head dims 80 / 96 / 112 over pal
# pages too (the host rule and the kernel's assert only; K in pool order, V by dim): their tests,
# then prefill_sweep pal rows against the portable kernel (PAL_PREFILL_PATH=portable, same wheel).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call4.sh $O/
timeout 200 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py -k "head_dims_between or (every_page_size_float32 and 96) or (splits_short and 96) or paths_at_every_page or pal_small_pages" > $O/tests.txt 2>&1; echo "tests rc $? ($SECONDS s)"; tail -3 $O/tests.txt; grep -E "^FAILED" $O/tests.txt | head
for cfg in "96 16" "96 2" "96 4" "96 8" "96 128" "80 16" "112 16" "80 4" "112 8"; do
  set -- $cfg
  for path in portable wgmma; do
    e=""; [ $path = portable ] && e=portable
    PAL_PREFILL_PATH=$e timeout 60 python3 scripts/prefill_sweep.py --dim $1 --page $2 --rows 4x4096+0 4x1024+8192 --layouts pal --label "d$1-p$2-$path" 2>&1 | grep -E "TFLOP|rror" | tail -2
  done
done | tee $O/pal_dims.txt
echo "call done $SECONDS s"
