#!/bin/bash
# Session 12, call 5 (final form): the wheel of main's HEAD (16-byte O stores, fp8 16-byte
# widening stores, pal fp8 K in the pages' order; the lab's FlashInfer fp8 prefill on its FA2
# path): the whole suite, memcheck and the Rust example (scripts/gpu_suite.sh), then the lab's
# prefill rows beside FlashInfer, fp8 pools first, while time is left.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS="--timeout=120"
O=$OUT; T0=$SECONDS
left() { echo $((585 - SECONDS + T0)); }
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 330 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests; echo "suite status $? ($SECONDS s)"
export PYTHONPATH=/tmp/site
lab() {  # NAME TIMEOUT ARGS...
  local name=$1 limit=$2; shift 2
  local t=$(( $(left) - 5 )); [ $t -gt $limit ] && t=$limit
  [ $t -lt 30 ] && { echo "skip $name"; return; }
  timeout $t python3 -m proxy_attention_lab.bench --ops prefill --dtype bfloat16 --no-plots --out $O/$name "$@" > $O/$name.log 2>&1
  echo "$name rc $? ($SECONDS s)"; grep -E "pal |flashinfer|ceilings|rror" $O/$name.log | tail -12
}
R3="1x4096+0 4x1024+8192 8x512+4096"
R5="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
lab lab-fp8-pal 80 --layout pal --kv-dtype float8_e4m3fn --prefill $R3
lab lab-fp8-nhd 80 --layout nhd --kv-dtype float8_e4m3fn --prefill $R3
lab lab-nhd 110 --layout nhd --prefill $R5
lab lab-pal 110 --layout pal --prefill $R5
echo "end ($SECONDS s)"
