. scripts/gpu_env.sh >/dev/null 2>&1; bash scripts/kernel_suite.sh crates/pal-core/kernels 540 memcheck
