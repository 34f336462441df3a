#!/bin/bash
# A first GPU call for the twenty-fourth session (written in the twenty-third): the whole suite
# and memcheck with PAL_KERNEL_DIR at the Hopper prefill's page plan
# (prefill-hopper-page-plan.patch, fixed after call 6's illegal address on 64-key tiles over
# pages of 128), then, if it passed, A/B/A/B against main's kernels (same bits asked) over page
# sizes and layouts and the rows beside FA3. Before the call:
#   for v in mainK pp; do mkdir -p kv_b/$v && cp -r crates/pal-core/kernels/. kv_b/$v; done
#   git apply --directory=kv_b/pp -p4 benchmarks/prepared/prefill-hopper-page-plan.patch
# then `run` with carry ["gpu-bundle", "kv_b/mainK", "kv_b/pp", "kv_b/fi_cache.tgz"] (gpu-bundle
# from scripts/gpu_bundle.sh; fi_cache.tgz from a call that built FlashInfer's JIT cache, else
# drop --flashinfer below):
#   bash benchmarks/prepared/next_call.sh   (up to 10 device minutes; run with timeout_s 600)
# If the suite passes and the verdict ($O/ab.txt.verdict) says "suite pp", apply the patch to
# the tree and land it.
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/pp timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
rc=$?
echo "suite rc $rc ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
[ $rc = 0 ] || exit 1
bash scripts/ab_rounds.sh "$O/ab.txt" "python3 scripts/prefill_sweep.py --rows 1x4096+0 16x1024+0 4x1024+8192 \
  8x512+4096 1x512+32768 4x128+32768 --layouts nhd hnd" mainK pp
# The rest as the call's 600 s allow (the suite takes about 320 s, the rounds above 80).
for opt in "--page 4" "--page 8" "--page 64" "--page 128" "--dim 64"; do
  [ $SECONDS -lt 480 ] || break
  ROUNDS=1 bash scripts/ab_rounds.sh "$O/ab_more.txt" \
    "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts nhd hnd $opt" mainK pp
done
if [ $SECONDS -lt 470 ]; then
  PAL_KERNEL_DIR=kv_b/pp timeout 100 python3 scripts/prefill_sweep.py --rows 1x4096+0 16x1024+0 4x1024+8192 8x512+4096 \
    --flashinfer fa3 --label pp 2>&1 | tee "$O/prefill_fa3.txt"
fi
echo "end ($SECONDS s)"
