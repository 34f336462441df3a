#!/bin/bash
# Twenty-second session, call 7: the prefill stamps (prefill-stamps.patch, rebased on 7d0b9dd)
# on the landed kernel: where an item's time goes at 16 x 1024 beside the long rows.
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/ps timeout 150 python3 benchmarks/prepared/prefill_stamps.py --rows 16x1024+0 1x4096+0 4x1024+8192 --layouts nhd pal 2>&1 | tee "$O/stamps.txt"
echo "end ($SECONDS s)"
