#!/bin/bash
# Session 40, call 2 (timing): fill with streaming cache hints (kv_b/fcs: loads and stores .cs;
# fld: loads; fst: stores) against main's fill, two rounds; then the split merge of few splits
# (the mf wheel: main + benchmarks/prepared/merge-few-splits.patch) against main's wheel on
# float32 MQA, bf16 GQA / MQA and fp8 rows, two rounds, outputs compared bit for bit.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site-main kv_b/mainwheel/*.whl || exit 1
# The memcheck half of scripts/gpu_suite.sh (call 1's suite ran pytest whole, then its limit).
{ compute-sanitizer --tool memcheck --error-exitcode 9 python3 scripts/gpu_memcheck.py &&
  compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
    -k "two_streams or splits or bad_page or next_call or ragged or fill_then or mixed_devices or prefill_bad or 128-16- or 256-16- or 64-1- or 128-8- or 128-4- or 128-2- or (prefill_matches and 128) or large_pages" &&
  compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_fp8.py \
    -k "cuda and ((long and (128-16 or 128-4 or 256)) or (small_pages_over and e4m3) or splits)"
} > $O/memcheck.log 2>&1; echo "memcheck rc $? ($SECONDS s)"
grep -E "ERROR SUMMARY|passed|failed" $O/memcheck.log
for r in 1 2; do for v in main fcs fld fst; do
  ch=""; [ $r = 1 ] && ch=--check
  PAL_KERNEL_DIR=kv_b/$v timeout 60 python3 kv_b/fill_probe.py --label r$r-$v --tokens 32768,4096 $ch
done; done 2>&1 | grep -E "RES|check|rror" | tee $O/fill.txt
sweep() { timeout 70 python3 scripts/decode_sweep.py "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-200; }
for round in 1 2; do
  for w in main mf; do
    site=/tmp/site; [ $w = main ] && site=/tmp/site-main
    for s in a b c d; do eval "c_$s='--compare $O/$s'"; [ $round$w = 1main ] && eval "c_$s='--save $O/$s'"; done
    PYTHONPATH=$site sweep --dtype float32 --heads 32/1 --rows 32x4096 64x4096 128x2048 1x32768 --layouts nhd --label r$round-$w $c_a
    PYTHONPATH=$site sweep --dtype bfloat16 --heads 32/8 --rows 8x4096 1x32768 32x4096 --layouts nhd --label r$round-$w $c_b
    PYTHONPATH=$site sweep --dtype bfloat16 --heads 32/1 --rows 8x4096 1x32768 --layouts nhd --label r$round-$w $c_c
    PYTHONPATH=$site sweep --dtype bfloat16 --kv-dtype float8_e4m3fn --heads 32/8 --rows 32x4096 --layouts pal --label r$round-$w $c_d
  done
done 2>&1 | tee $O/sweep.txt
rm -rf $O/a $O/b $O/c $O/d
