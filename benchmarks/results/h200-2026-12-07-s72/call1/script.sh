# call 1: the whole GPU suite and memcheck, every prefill on the portable path, on main's kernels
# with the bundle built from the new host rule (64-key tiles for every variant at head dims <= 128)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; bash benchmarks/prepared/next_calls.sh suite
