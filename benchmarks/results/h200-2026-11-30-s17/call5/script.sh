#!/bin/bash
# s17 call 5: TMA_TILE (each warp's 16-slot pal page by two tensor copies of 128-byte rows)
# against the copying lanes (tma=0), bits compared; decode tests first.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
timeout 150 python3 -m pytest -q -x -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py tests/test_variants.py \
  -k "decode and not cpu" > "$O/tests.txt" 2>&1
echo "decode tests rc $? ($SECONDS s)" | tee -a "$O/ab.txt"; tail -3 "$O/tests.txt" | tee -a "$O/ab.txt"
D="python3 scripts/decode_sweep.py --layouts pal --page 16 --rows 1x4096 8x4096 32x4096 64x4096 1x32768"
PAL_DECODE_TUNING=tma=0 timeout 60 $D --label lanes --save /tmp/ab 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
timeout 60 $D --label tile --compare /tmp/ab 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
D8="python3 scripts/decode_sweep.py --layouts pal --page 16 --rows 8x4096 32x4096 64x4096 --kv-dtype float8_e4m3fn"
PAL_DECODE_TUNING=tma=0 timeout 60 $D8 --label lanes-fp8 --save /tmp/ab8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
timeout 60 $D8 --label tile-fp8 --compare /tmp/ab8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
for dim in 64 256; do
  D="python3 scripts/decode_sweep.py --layouts pal --page 16 --dim $dim --rows 8x4096 32x4096"
  PAL_DECODE_TUNING=tma=0 timeout 60 $D --label lanes-d$dim --save /tmp/abd$dim 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 60 $D --label tile-d$dim --compare /tmp/abd$dim 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
echo "end ($SECONDS s)" | tee -a "$O/ab.txt"
