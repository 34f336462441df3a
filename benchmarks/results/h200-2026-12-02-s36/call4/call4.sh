#!/bin/bash
# Session 36, call 4: the whole GPU suite and memcheck on the final wheel (decode_tf32 v2).
. scripts/gpu_env.sh || exit 1
bash scripts/kernel_suite.sh crates/pal-core/kernels 450
grep -E "ERROR SUMMARY|passed|failed" $O/suite.txt | tail -8
