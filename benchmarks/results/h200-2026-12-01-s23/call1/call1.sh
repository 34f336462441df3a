#!/bin/bash
# Twenty-third session, call 1: FlashInfer's JIT cache rebuilt in the background (kept as
# $O/fi_cache.tgz), then benchmarks/prepared/next_call.sh (the prefill stamps with the
# producer's phases; the Hopper soft-cap weights from reciprocals A/B/A/B against main).
. scripts/gpu_env.sh || exit 1
(
  timeout 400 python3 scripts/prefill_sweep.py --rows 1x256+0 --layouts nhd --flashinfer fa2 fa3 --label warm
  timeout 300 python3 scripts/decode_sweep.py --rows 1x512 --layouts nhd --flashinfer --label warm
  timeout 300 python3 scripts/decode_sweep.py --rows 1x512 --layouts nhd --flashinfer --kv-dtype float8_e4m3fn --label warm
  tar czf "$O/fi_cache.tgz" -C ~/.cache flashinfer tvm-ffi 2>/dev/null || tar czf "$O/fi_cache.tgz" -C ~/.cache flashinfer
  echo "warm done ($SECONDS s)"
) > "$O/fiwarm.txt" 2>&1 &
bash benchmarks/prepared/next_call.sh
wait; tail -3 "$O/fiwarm.txt"; echo "end ($SECONDS s)"
