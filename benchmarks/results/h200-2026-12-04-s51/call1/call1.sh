#!/bin/bash
# Session 51, call 1: the prepared prefill variants (benchmarks/prepared/next_calls.sh): pool-order
# values for pal pages 2-8 at head dims 80-112 (padded), then swizzled pal history K (swizzled).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call1.sh $O/
bash benchmarks/prepared/next_calls.sh padded
echo "== padded done at $SECONDS s"
if [ $SECONDS -lt 330 ]; then bash benchmarks/prepared/next_calls.sh swizzled; fi
echo "call done $SECONDS s"
