#!/bin/bash
# A first GPU call for the twenty-third session (written in the twenty-second): the prefill
# stamps with the producer's phases (prefill-stamps.patch) on 16 x 1024, 1 x 4096 and 4 x 1024
# over 8192, then the Hopper prefill's soft-cap weights from reciprocals
# (prefill-hopper-softcap-reciprocals.patch) against main, A/B/A/B, in the variant sweep
# (timing only: the whole suite is for a call after, if it wins). Before the call:
#   for v in mainK ps rd; do mkdir -p kv_b/$v && cp -r crates/pal-core/kernels/. kv_b/$v; done
#   git apply --directory=kv_b/ps -p4 benchmarks/prepared/prefill-stamps.patch
#   git apply --directory=kv_b/rd -p4 benchmarks/prepared/prefill-hopper-softcap-reciprocals.patch
# then `run` with carry ["gpu-bundle", "kv_b/mainK", "kv_b/ps", "kv_b/rd"] (gpu-bundle from
# scripts/gpu_bundle.sh; no FlashInfer needed):
#   bash benchmarks/prepared/next_call.sh   (about 3 device minutes)
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/ps timeout 150 python3 benchmarks/prepared/prefill_stamps.py --rows 16x1024+0 1x4096+0 4x1024+8192 \
  --layouts nhd pal 2>&1 | tee "$O/stamps.txt"
for round in 1 2; do
  for v in mainK rd; do
    echo "## $v round $round" | tee -a "$O/variants.txt"
    PAL_KERNEL_DIR=kv_b/$v timeout 90 python3 scripts/variant_sweep.py --ops prefill 2>&1 | grep "^| prefill" |
      sed "s/^/$v /" | tee -a "$O/variants.txt"
  done
done
echo "end ($SECONDS s)"
