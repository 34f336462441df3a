#!/bin/bash
# The fifty-first session's prepared device calls (a call each part), on the GPU machine:
#   bash benchmarks/prepared/next_calls.sh stamps|table
# stamps: where `pal`'s history rows lose 3-7% to `nhd`'s at page 16 (D 128): the Hopper prefill's
#   stamps (prefill-stamps.patch: per-CTA cycles of each consumer and producer phase, the
#   consumers' tile loop in seven phases) in both layouts and soft-capped, then
#   ncu of main's `pal` and `nhd` kernels on the history row (scripts/ncu_report.py).
# table: issue 13's rows beside FlashInfer's FA3 and FA2 paths (their JIT: about a minute).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
case $1 in
stamps)
  rm -rf kv_b/ps && mkdir -p kv_b/ps && cp -r crates/pal-core/kernels/. kv_b/ps
  git apply --directory=kv_b/ps -p4 benchmarks/prepared/prefill-stamps.patch || exit 1
  PAL_KERNEL_DIR=kv_b/ps timeout 150 python3 benchmarks/prepared/prefill_stamps.py \
    --rows 4x1024+8192 8x512+4096 16x1024+0 --layouts nhd pal --pages 16 2>&1 | tee "$O/stamps.txt"
  PAL_KERNEL_DIR=kv_b/ps timeout 100 python3 benchmarks/prepared/prefill_stamps.py \
    --rows 4x1024+8192 --layouts nhd pal --soft-caps 30 2>&1 | tee -a "$O/stamps.txt"
  for layout in pal nhd; do
    timeout $(( (450 - SECONDS) / 2 )) python3 scripts/ncu_report.py prefill --layout $layout --row 4x1024+8192 \
      --out /tmp/ncu-$layout > "$O/ncu-$layout.txt" 2>&1
    echo "ncu $layout rc $? ($SECONDS s)"
  done ;;
table)
  timeout 560 python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 4x2048+8192 \
    --layouts nhd pal --flashinfer fa3 fa2 --label main 2>&1 | tee "$O/table.txt" ;;
esac
echo "part $1 done ($SECONDS s)"
