#!/bin/bash
# Session 50, call 1: the prepared patches prefill-wgmma-padded-dims (issue 13: the Hopper prefill
# at head dims 80 / 96 / 112 in 128-wide tiles) and fill-run-pack (RUN packing through Pack<KV>):
# their tests on CUDA, then prefill_sweep at D 96 / 80 / 112 on main's wheel (kv_b/wm: the
# portable kernel) and the candidate, then the pal fill at pages 2 / 4 / 8 both ways.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call1.sh $O/
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/siteM kv_b/wm/*.whl || exit 1
timeout 200 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py -k "head_dims_between or (prefill_matches and (80 or 96 or 112)) or (every_page_size_float32 and 96) or (splits_short and 96) or fill_matches_cpu or fill_then" > $O/tests.txt 2>&1; echo "tests rc $? ($SECONDS s)"; tail -3 $O/tests.txt; grep -E "^FAILED" $O/tests.txt | head
for dim in 96 80 112; do
  for w in main cand; do
    p=/tmp/site; [ $w = main ] && p=/tmp/siteM:/tmp/site
    PYTHONPATH=$p timeout 60 python3 scripts/prefill_sweep.py --dim $dim --rows 4x4096+0 16x1024+0 4x1024+8192 --layouts nhd hnd --label "d$dim-$w" 2>&1 | grep -vE "^\s*$" | tail -7
  done
done | tee $O/prefill_dims.txt
echo "== ($SECONDS s)"
for page in 2 4 8; do
  for w in main cand; do
    p=/tmp/site; [ $w = main ] && p=/tmp/siteM:/tmp/site
    PYTHONPATH=$p timeout 40 python3 benchmarks/prepared/fill_probe.py --label "p$page-$w" --page $page --layouts pal --tokens 32768,4096 2>&1 | grep -E "RES|rror"
  done
done | tee $O/fill_small.txt
echo "call done $SECONDS s"
