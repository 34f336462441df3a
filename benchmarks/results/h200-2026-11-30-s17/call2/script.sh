#!/bin/bash
# s17 call 2: per-warp tile tensor copies (TMA_TILE) at pal pages 16 / 32 against the copying
# threads (tma=0), bits compared; FlashInfer beside; the step boxes' default figures at 64 / 128.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
timeout 150 python3 -m pytest -q -x -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py tests/test_variants.py \
  -k "decode and not cpu" > "$O/tests.txt" 2>&1
echo "decode tests rc $? ($SECONDS s)" | tee -a "$O/ab.txt"; tail -3 "$O/tests.txt" | tee -a "$O/ab.txt"
R="1x4096 8x4096 32x4096 64x4096 1x32768"
for page in 16 32; do
  D="python3 scripts/decode_sweep.py --layouts pal --page $page --rows $R"
  PAL_DECODE_TUNING=tma=0 timeout 60 $D --label threads-p$page --save /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 60 $D --label tile-p$page --compare /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  PAL_DECODE_TUNING=tma=1 timeout 60 $D --label tile-v-p$page --compare /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  D8="python3 scripts/decode_sweep.py --layouts pal --page $page --rows 8x4096 32x4096 64x4096 --kv-dtype float8_e4m3fn"
  PAL_DECODE_TUNING=tma=0 timeout 60 $D8 --label threads-fp8-p$page --save /tmp/ab8$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 60 $D8 --label tile-fp8-p$page --compare /tmp/ab8$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
echo "== peers ($SECONDS s)" | tee -a "$O/ab.txt"
for page in 16 64 128; do
  timeout 90 python3 scripts/decode_sweep.py --flashinfer --layouts nhd pal --page $page --rows 8x4096 32x4096 1x32768 --label default-p$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
timeout 90 python3 scripts/decode_sweep.py --flashinfer --layouts nhd pal --page 16 --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn --label default-fp8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
echo "ab end ($SECONDS s)" | tee -a "$O/ab.txt"
