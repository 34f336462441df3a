#!/bin/bash
# Session 40, call 1: the whole GPU suite and memcheck on main + merge-few-splits (the wheel and
# the kernel folder of the tree that lands).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
bash scripts/kernel_suite.sh crates/pal-core/kernels 560
