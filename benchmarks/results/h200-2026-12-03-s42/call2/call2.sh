#!/bin/bash
# Forty-second session, call 2: the whole pytest suite on the tree that lands (bf16 / fp8 pal
# pages of 32 by tensor copies; fp8 pages of 64 back to main's boxes after call 1's 0.96x);
# call 1 ran the Rust example and memcheck on the same page-32 kernels.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
bash scripts/kernel_suite.sh crates/pal-core/kernels 585 pytest
echo "call done $SECONDS s"
