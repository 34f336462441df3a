#!/bin/bash
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable PAL_SUITE_WORKERS=16
bash scripts/kernel_suite.sh "$PWD/kv_b/fin" 585 tests
