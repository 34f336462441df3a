#!/bin/bash
# Sixty-third session, call 5: the landing form (kv_b/$1) under the whole GPU suite with memcheck
# beside it, every prefill on the portable path (the only kernel it changes: the other families'
# SASS is byte-identical to main's).
. scripts/gpu_env.sh || exit 1
export PAL_PREFILL_PATH=portable PAL_SUITE_WORKERS=16
bash scripts/kernel_suite.sh "$PWD/kv_b/$1" 585 tests
