. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,driver_version --format=csv,noheader
bash benchmarks/prepared/next_calls.sh prescaled-suite
