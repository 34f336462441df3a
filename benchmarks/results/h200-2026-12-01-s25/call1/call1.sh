#!/bin/bash
# A first GPU call for the twenty-fifth session (written in the twenty-fourth): the whole suite
# and memcheck with PAL_KERNEL_DIR at main's kernels plus the three prepared patches
# (decode-warp-merge.patch: decode_mma.cuh; prefill-hopper-pal-small-pages.patch: prefill_wgmma.cuh
# and mma.cuh; prefill-hopper-small-page-ids.patch: prefill_wgmma.cuh, other lines; they apply
# in any order), then, if it passed, each A/B/A/B against main's kernels (same bits asked) and
# the rows it aims at beside FlashInfer. Before the call:
#   for v in mainK wm pv ids both; do rm -rf kv_b/$v; mkdir -p kv_b/$v && cp -r crates/pal-core/kernels/. kv_b/$v; done
#   git apply --directory=kv_b/wm -p4 benchmarks/prepared/decode-warp-merge.patch
#   git apply --directory=kv_b/pv -p4 benchmarks/prepared/prefill-hopper-pal-small-pages.patch
#   git apply --directory=kv_b/ids -p4 benchmarks/prepared/prefill-hopper-small-page-ids.patch
#   for p in decode-warp-merge prefill-hopper-pal-small-pages prefill-hopper-small-page-ids; do
#     git apply --directory=kv_b/both -p4 benchmarks/prepared/$p.patch; done
# then `run` with carry ["gpu-bundle", "kv_b/mainK", "kv_b/wm", "kv_b/pv", "kv_b/ids", "kv_b/both",
# "kv_b/fi_cache.tgz"] and timeout_s 600 (gpu-bundle from scripts/gpu_bundle.sh; fi_cache.tgz from
# a call that built FlashInfer's JIT cache, else drop --flashinfer below):
#   bash benchmarks/prepared/next_call.sh
# At most eight files come back from $OUT: the verdicts are printed last as well. A failing
# suite names its tests: decode ones point at wm, prefill ones at pv (pal pages 2-8) or ids
# (pages of 1-2 slots). Land a patch whose suite passed and whose verdict says "suite NAME".
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/both timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
rc=$?
echo "suite rc $rc ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
[ $rc = 0 ] || exit 1
bash scripts/ab_rounds.sh "$O/pv.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 16x1024+0 --layouts pal \
  --page 8" mainK pv
ROUNDS=1 bash scripts/ab_rounds.sh "$O/pv4.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal \
  --page 4" mainK pv
ROUNDS=1 bash scripts/ab_rounds.sh "$O/pv64.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal \
  --page 8 --dim 64" mainK pv
ROUNDS=1 bash scripts/ab_rounds.sh "$O/ids.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts nhd pal \
  --page 1" mainK ids
ROUNDS=1 bash scripts/ab_rounds.sh "$O/ids2.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts nhd \
  --page 2" mainK ids
bash scripts/ab_rounds.sh "$O/wm.txt" "python3 scripts/decode_sweep.py --heads 32/1 --rows 1x4096 4x4096 32x4096 --layouts nhd pal" \
  mainK wm
[ $SECONDS -lt 500 ] && FLOOR=0.98 ROUNDS=1 bash scripts/ab_rounds.sh "$O/wm_gqa.txt" "python3 scripts/decode_sweep.py --rows 1x4096 8x4096 32x4096 \
  --layouts nhd pal" mainK wm
[ $SECONDS -lt 540 ] && for page in 4 8; do
  PAL_KERNEL_DIR=kv_b/pv timeout 30 python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal --page $page \
    --flashinfer fa3 --label pv 2>&1 | tail -2
done
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
echo "end ($SECONDS s)"
