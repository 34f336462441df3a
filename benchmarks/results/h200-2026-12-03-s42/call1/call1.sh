#!/bin/bash
# Forty-second session, call 1: the prepared tensor-copy rows (bf16 pal page 32 + fp8 pal pages
# 32 / 64) against main's wheel (benchmarks/prepared/tma_rows_ab.sh, two rounds), then the Rust
# example and memcheck on the candidate (both patches) in the rest of the call.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
bash kv_b/s42/tma_rows_ab.sh
echo "== memcheck from $SECONDS s"
bash scripts/kernel_suite.sh crates/pal-core/kernels $((590 - SECONDS)) memcheck
echo "call done $SECONDS s"
