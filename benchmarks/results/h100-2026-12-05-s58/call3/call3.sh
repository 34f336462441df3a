. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
rm -rf kv_b/pa && mkdir -p kv_b/pa && cp -r crates/pal-core/kernels/. kv_b/pa
git apply --directory=kv_b/pa -p4 benchmarks/prepared/prefill-prescaled-q-all.patch || exit 1
PAL_SUITE_WORKERS=14 bash scripts/kernel_suite.sh kv_b/pa 540 tests
