#!/bin/bash
# Twenty-seventh session, call 6 (main's wheel; PAL_KERNEL_DIR at main's kernels after 0479d56): ncu of pal page 16
# history (4 x 1024 over 8192), beside call 3's nhd page 16.
. scripts/gpu_env.sh && PAL_KERNEL_DIR=crates/pal-core/kernels timeout 90 python3 scripts/ncu_report.py prefill --layout pal --page 16 --row 4x1024+8192 --out "$O/ncu-pal-p16" 2>&1 | tail -60; gzip -f "$O/ncu-pal-p16/source.csv"; echo "end ($SECONDS s)"
