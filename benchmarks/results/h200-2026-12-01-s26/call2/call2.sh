#!/bin/bash
# A second GPU call for the twenty-sixth session (written in the twenty-fifth), after
# next_call.sh, on the same wheel: prefill-hopper-pal-values-pool-order.patch (applies after
# prefill-hopper-pal-page2-producer.patch) A/B/A/B against the kernels before it on `pal`
# history rows at pages 16-128 (its only SASS change: pages 2-8 keep theirs), then, if it won,
# the whole suite and memcheck with PAL_KERNEL_DIR at it. Before the call:
#   for v in p2k pvo; do rm -rf kv_b/$v; mkdir -p kv_b/$v && cp -r crates/pal-core/kernels/. kv_b/$v
#     git apply --directory=kv_b/$v -p4 --include='*.cuh' benchmarks/prepared/prefill-hopper-pal-page2-producer.patch; done
#   git apply --directory=kv_b/pvo -p4 benchmarks/prepared/prefill-hopper-pal-values-pool-order.patch
# (on main before the first call's patches land; after they land, p2k is main's kernels), then
# `run` with carry ["gpu-bundle", "kv_b/p2k", "kv_b/pvo"] and timeout_s 600.
. scripts/gpu_env.sh || exit 1
bash scripts/ab_rounds.sh "$O/pvo.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 4x2048+8192 --layouts pal \
  --page 16" p2k pvo
for page in 32 128; do
  ROUNDS=1 bash scripts/ab_rounds.sh "$O/pvo$page.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal \
    --page $page" p2k pvo
done
ROUNDS=1 bash scripts/ab_rounds.sh "$O/pvo64d.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal \
  --page 16 --dim 64" p2k pvo
if head -1 "$O/pvo.txt.verdict" | grep -q "^suite pvo"; then
  PAL_KERNEL_DIR=kv_b/pvo timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
  echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
  grep -E "^FAILED|^____" "$O/suite/pytest.log" | head -20
fi
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
echo "end ($SECONDS s)"
