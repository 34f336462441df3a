#!/bin/bash
# Forty-first session, call 1: decode beside FlashInfer over issue 11's matrix (page sizes, head
# dims, groups, float16, fp8), main's wheel, default call path; kernel time by graph replay and
# the eager call, FlashInfer's best path by do_bench; FlashInfer's JIT cache returned for later calls.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
S="python3 scripts/decode_sweep.py --flashinfer --layouts nhd pal"
R3="--rows 1x4096 8x4096 32x4096"
run() {  # name, timeout, args
  local name=$1 t=$2; shift 2
  echo "== $name ($SECONDS s)"
  timeout "$t" $S "$@" --json "$O/$name.json" > "$O/$name.txt" 2>&1
  grep -E "TB/s|ceiling|rror|failed" "$O/$name.txt" | tail -30
}
run default 200
for p in 1 2 4 8 32 64 128; do run page$p 60 --rows 8x4096 32x4096 --page $p; done
run mha 60 $R3 --heads 32/32
run mqa 60 $R3 --heads 32/1
run hq64 60 $R3 --heads 64/8
run fp8 150 --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn
run f16 150 $R3 --dtype float16
run dim64 150 $R3 --dim 64
run dim256 150 $R3 --dim 256
tar czf "$O/fi_cache.tgz" -C ~/.cache flashinfer
echo "done $SECONDS s"
