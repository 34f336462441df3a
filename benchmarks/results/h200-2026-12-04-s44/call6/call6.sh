#!/bin/bash
# Forty-fourth session, call 6: the one-m-tile warps' merge with its rows' 8-dim chunks
# XOR-swizzled by row (kv_b/ms) against main (kv_b/pq), two rounds over the small rows where
# the merge lies on a CTA's critical path (bf16 GQA and MQA).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py"
bash scripts/ab_rounds.sh "$O/ab-gqa.txt" "$S --layouts pal nhd --rows 1x4096 8x4096 1x32768" pq ms 2>&1 | grep -v "^read" | sed 's/hq32.hkv8 //'
bash scripts/ab_rounds.sh "$O/ab-mqa.txt" "$S --layouts pal nhd --heads 32/1 --rows 1x4096 8x4096" pq ms 2>&1 | grep -v "^read" | sed 's/hq32.hkv1 //'
echo "call done $SECONDS s"
