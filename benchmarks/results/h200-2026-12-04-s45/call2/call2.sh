#!/bin/bash
# Forty-fifth session, call 2 (kernels of kv_b/ms, the swizzle as landed in b585ff8): memcheck, then FlashInfer MQA decode beside main's kernels (PAL_KERNEL_DIR unset: the wheel's, before the swizzle), and the JIT cache packed.
. scripts/gpu_env.sh >/dev/null 2>&1; bash scripts/kernel_suite.sh kv_b/ms 300 memcheck 2>&1 | tail -15; timeout 250 python3 scripts/decode_sweep.py --flashinfer --layouts nhd pal --rows 1x4096 8x4096 --heads 32/1 > $O/fi_mqa.txt 2>&1; tar czf "$O/fi_cache.tgz" -C ~/.cache flashinfer
