. scripts/gpu_env.sh >/dev/null 2>&1; bash scripts/kernel_suite.sh kv_b/pq 560 pytest
