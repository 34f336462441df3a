#!/bin/bash
# Forty-fourth session, call 5 (its output is in benchmarks/README.md, "forty-fourth session"):
# MQA 1 x 4096 / 1 x 2048 and GQA 1 x 4096 under larger split floors (PAL_DECODE_TUNING).
. scripts/gpu_env.sh >/dev/null 2>&1; for t in "" "min_split=512" "min_split=1024" "min_split=256" "min_split=512,waves=0"; do echo "== [$t]"; PAL_DECODE_TUNING=$t PAL_KERNEL_DIR=kv_b/pq timeout 60 python3 scripts/decode_sweep.py --layouts pal nhd --heads 32/1 --rows 1x4096 1x2048 2>&1 | grep TB/s; done; echo "== gqa"; for t in "" "min_split=512" "min_split=1024"; do echo "== [$t]"; PAL_DECODE_TUNING=$t PAL_KERNEL_DIR=kv_b/pq timeout 60 python3 scripts/decode_sweep.py --layouts pal --rows 1x4096 2>&1 | grep TB/s; done
