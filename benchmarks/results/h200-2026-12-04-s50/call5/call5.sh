#!/bin/bash
# Session 50, call 5: the whole pytest suite on the candidate (padded tiles over pal pages too, on
# top of call 2's wheel), whose own tests passed in call 4.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call5.sh $O/
bash scripts/kernel_suite.sh crates/pal-core/kernels $((580 - SECONDS)) pytest
echo "call done $SECONDS s"
