#!/bin/bash
# A first GPU call for the twenty-eighth session (written in the twenty-seventh): the soft-cap's
# tanh as one `tanh.approx` in the Hopper prefill (benchmarks/prepared/README.md) against main
# over two rounds of the variant sweep, the variant and CUDA tests on it, then the whole suite and
# memcheck on it if those pass. Before the call:
#   rm -f gpu-bundle/proxy_attention_lab-*.whl && maturin build --release -q --out gpu-bundle
#   K=crates/pal-core/kernels
#   for v in m28 sct; do rm -rf kv_b/$v; mkdir -p kv_b/$v && cp -r $K/. kv_b/$v; done
#   git apply --directory=kv_b/sct -p4 benchmarks/prepared/prefill-hopper-softcap-tanh.patch
# then `run` with carry ["gpu-bundle", "kv_b/m28", "kv_b/sct"] and timeout_s 600. Land it if the
# soft-cap rows gain (issue 14 asks 1.10x plain or better) and the suite passed on it, after
# checking that the landed SASS is the one that ran.
. scripts/gpu_env.sh || exit 1
for round in 1 2; do
  for v in m28 sct; do
    echo "== $v, round $round" | tee -a "$O/variants.txt"
    PAL_KERNEL_DIR=kv_b/$v timeout 90 python3 scripts/variant_sweep.py --ops prefill 2>&1 | tail -14 | tee -a "$O/variants.txt"
  done
done
xdist=$(python3 -c "import xdist" 2>/dev/null && echo "-n 12")
# shellcheck disable=SC2086
PAL_KERNEL_DIR=kv_b/sct timeout 150 python3 -m pytest -q -p no:cacheprovider $xdist tests/test_variants.py tests/test_cuda.py \
  -k "cuda or prefill" > "$O/sct_tests.txt" 2>&1
tail -3 "$O/sct_tests.txt"; grep -E "^FAILED" "$O/sct_tests.txt" | head -10
if grep -q " passed" "$O/sct_tests.txt" && ! grep -qE "failed|error" "$O/sct_tests.txt"; then
  bash scripts/kernel_suite.sh kv_b/sct 330
fi
echo "end ($SECONDS s)"
