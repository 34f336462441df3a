#!/bin/bash
# Sixty-third session, call 1: the landing checks of prefill-portable-registers.patch (kv_b/pr =
# main's kernels + the patch), first half: the whole pytest suite with every prefill forced onto
# the portable path (PAL_PREFILL_PATH=portable), the only kernel the patch changes (the other
# families' SASS is byte-identical under NVRTC 13.5: scripts/sass_compare.py).
. scripts/gpu_env.sh || exit 1
export PAL_PREFILL_PATH=portable PAL_SUITE_WORKERS=16
bash scripts/kernel_suite.sh "$PWD/kv_b/pr" 575 pytest
