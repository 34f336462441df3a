#!/bin/bash
# Forty-third session, call 3: memcheck on the candidate tree (the kernel cache warm from call 2).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1; bash scripts/kernel_suite.sh crates/pal-core/kernels 500 memcheck; echo "call done $SECONDS s"
