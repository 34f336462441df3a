#!/bin/bash
# Forty-seventh session, call 4: decode CTAs over several KV heads (`decode_mma`'s KV_HEADS) for
# 16-bit nhd rows at head dims 80 / 96 / 112: correctness (the new test and the decode matrix
# test), then nhd timing with kv_heads 1 / 2 / 4 and stages, pal / hnd beside.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
echo "== tests"
timeout 240 python3 -m pytest -q -x -p no:cacheprovider -n 14 tests/test_cuda.py -k "several_kv_heads or decode_matches_cpu" 2>&1 | tail -15
echo "== timing ($SECONDS s)"
S="python3 scripts/decode_sweep.py --layouts nhd --rows 1x4096 8x4096 32x4096 64x4096"
for D in 80 96 112; do
  for knobs in kv_heads=1 kv_heads=2 kv_heads=2,stages=3 kv_heads=4; do
    [ "$D$knobs" = 112kv_heads=4 ] && knobs=kv_heads=4,warps=2,stages=3
    PAL_DECODE_TUNING=$knobs timeout 60 $S --dim $D --label "$knobs" 2>&1 | grep -v "^read" | grep -v "^$" | tail -4
  done
  timeout 60 python3 scripts/decode_sweep.py --layouts pal hnd --rows 8x4096 32x4096 64x4096 --dim $D --label ref 2>&1 | grep -v "^read" | grep -v "^$" | tail -6
done
echo "call done $SECONDS s"
