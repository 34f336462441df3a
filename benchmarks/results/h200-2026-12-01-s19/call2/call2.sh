#!/bin/bash
# Nineteenth session, call 2: Hopper + portable split-KV (new wheel): tests, long-history sweep
# beside FlashInfer FA2 / FA3 and splits=1; fill with 16 CTAs per SM (kf1) against kf0.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --force-reinstall --target /tmp/site kv_b/split/*.whl || exit 1
export PYTHONPATH=/tmp/site
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 200 python3 -m pytest -q -x -n 12 -p no:cacheprovider tests/test_cuda.py tests/test_variants.py tests/test_fp8.py \
  -k "splits or (prefill and not cpu)" > "$O/tests.txt" 2>&1
tail -3 "$O/tests.txt"; echo "tests $SECONDS s"
S="python3 scripts/prefill_sweep.py"
R="--rows 1x128+32768 2x128+32768 1x256+32768 1x64+65536 4x128+32768 1x512+32768 4x1024+8192"
(
timeout 200 $S $R --label split --flashinfer fa2 fa3 2>&1
PAL_PREFILL_TUNING=splits=1 timeout 60 $S $R --label nosplit 2>&1
PAL_PREFILL_PATH=portable timeout 60 $S $R --label portable 2>&1
) > "$O/split_sweep.txt"
grep -E "TFLOP" "$O/split_sweep.txt"; echo "sweep $SECONDS s"
for round in 1 2; do for v in kf0 kf1; do for L in pal nhd; do
  echo "== $v $L round $round" >> "$O/fill.txt"
  PAL_KERNEL_DIR=kv_b/$v timeout 90 python3 -m proxy_attention_lab.bench --device cuda --ops fill --dtype bfloat16 --layout $L --fill 4096 32768 256x1 --no-plots --out /tmp/b 2>&1 | grep -E "^fill|ceilings" >> "$O/fill.txt"
done; done; done
cat "$O/fill.txt"; echo "fill $SECONDS s"
