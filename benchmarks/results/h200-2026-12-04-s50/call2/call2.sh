#!/bin/bash
# Session 50, call 2: the whole pytest suite on the candidate (padded-dims Hopper prefill +
# fill-run-pack), whose own tests passed in call 1.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call2.sh $O/
bash scripts/kernel_suite.sh crates/pal-core/kernels $((580 - SECONDS)) pytest
echo "call done $SECONDS s"
