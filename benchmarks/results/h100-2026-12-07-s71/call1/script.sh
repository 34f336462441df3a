# seventy-first session, call 1 (H100 80GB HBM3, 473 s): the whole GPU suite and memcheck with
# every prefill on the portable path, on main's kernels (ce68fa2) with the capfold patch applied
# (kv_b/lgc); the bundle built from 939dfa5's Rust (unchanged since).
bash benchmarks/prepared/next_calls.sh suite-on lgc prefill-mma-logit2-capfold.patch 2>&1 | tail -40
nvidia-smi --query-gpu=name --format=csv,noheader
