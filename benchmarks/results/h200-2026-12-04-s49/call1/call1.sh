#!/bin/bash
# Session 49, call 1: the bounded soft-cap prefill (prepared patch) against main's wheel, with the
# pal small-page fill patch in both wheels: the new soft-cap test, then variant_sweep's prefill
# rows twice each way (kv_b/wm: main + fill; gpu-bundle: + bounded), then the whole pytest suite on
# the candidate (both patches).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call1.sh $O/
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/siteM kv_b/wm/*.whl || exit 1
timeout 90 python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_variants.py -k "soft_caps_near or (prefill_variants and soft_cap)" > $O/softcap_tests.txt 2>&1; echo "tests rc $? ($SECONDS s)"; tail -2 $O/softcap_tests.txt
for round in 1 2; do
  for w in main bounded; do
    p=/tmp/site; [ $w = main ] && p=/tmp/siteM:/tmp/site
    PYTHONPATH=$p timeout 90 python3 scripts/variant_sweep.py --ops prefill --layouts nhd pal 2>&1 | grep -E "^\| prefill|rror" | sed "s/^/$w r$round /"
  done
done | tee $O/sweep.txt
echo "== ($SECONDS s)"
bash scripts/kernel_suite.sh crates/pal-core/kernels $((585 - SECONDS)) pytest
echo "call done $SECONDS s"
