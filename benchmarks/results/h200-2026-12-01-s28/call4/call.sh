. scripts/gpu_env.sh && bash scripts/kernel_suite.sh kv_b/pq 560
