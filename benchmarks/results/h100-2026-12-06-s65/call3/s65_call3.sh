#!/bin/bash
# Sixty-fifth session, call 3 (H100): the whole GPU suite and memcheck on the working tree's
# kernels (32-bit row offsets in every layout; row sums on the tensor cores at one m-tile a warp),
# with the portable prefill forced (the Hopper prefill's kernels are unchanged).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable
bash scripts/kernel_suite.sh "$PWD/crates/pal-core/kernels" 575 tests
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
