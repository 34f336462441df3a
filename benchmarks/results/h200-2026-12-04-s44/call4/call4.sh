#!/bin/bash
# Forty-fourth session, call 4: where MQA 1 x 4096's time goes (the row below FlashInfer by graph
# replay, 0.94x in the forty-first session): the decode stamps (decode-stamps.patch rebased on
# this session's main: kv_b/ds) after an L2 flush, MQA and GQA 1 x 4096 and MQA 8 x 4096, pal and
# nhd; then the timed sweep of those rows on main's kernels (kernel by graph replay and eager).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
for layout in pal nhd; do
  PAL_KERNEL_DIR=kv_b/ds timeout 120 python3 kv_b/s44/decode_stamps.py --rows 1x4096:1 1x4096 8x4096:1 --layout $layout --flush 2>&1 | tee -a "$O/stamps.txt"
done
echo "== sweep ($SECONDS s)"
PAL_KERNEL_DIR=kv_b/pq timeout 100 python3 scripts/decode_sweep.py --layouts pal nhd --heads 32/1 --rows 1x4096 8x4096 2>&1 | tee "$O/sweep.txt" | grep TB/s
PAL_KERNEL_DIR=kv_b/pq timeout 60 python3 scripts/decode_sweep.py --layouts pal --rows 1x4096 2>&1 | tee -a "$O/sweep.txt" | grep TB/s
echo "call done $SECONDS s"
