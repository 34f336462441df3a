#!/bin/bash
# A first GPU call for the next session (written in the sixteenth): the prepared TMA path for
# pal pages of 64+ (decode-tma-steps.patch; see README.md). Before it, here: `git apply
# benchmarks/prepared/decode-tma-steps.patch`, rebuild the wheel into the bundle
# (`bash scripts/gpu_bundle.sh`), then `run` with carry ["gpu-bundle", "kv_b"]:
# bash benchmarks/prepared/next_call.sh. Decode tests, A/B of the default (TMA K and V) against
# `tma=1` (V only, the form measured) and `tma=0` (copying threads), fp8, then the whole suite
# and memcheck (about nine device minutes).
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
timeout 120 python3 -m pytest -q -x -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py tests/test_variants.py \
  -k "decode and not cpu" > "$O/tests.txt" 2>&1
echo "decode tests rc $? ($SECONDS s)" | tee -a "$O/ab.txt"; tail -3 "$O/tests.txt" | tee -a "$O/ab.txt"
for page in 128 64; do
  D="python3 scripts/decode_sweep.py --layouts pal --page $page --rows 8x4096 32x4096 1x32768"
  PAL_DECODE_TUNING=tma=0 timeout 40 $D --label threads-p$page --save /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  PAL_DECODE_TUNING=tma=1 timeout 40 $D --label tma-v-p$page --compare /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 60 $D --flashinfer --layouts nhd pal --label tma-kv-p$page --compare /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
D="python3 scripts/decode_sweep.py --layouts pal --page 64 --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn"
PAL_DECODE_TUNING=tma=0 timeout 40 $D --label threads-fp8 --save /tmp/ab8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
timeout 40 $D --label tma-fp8 --compare /tmp/ab8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
echo "ab end ($SECONDS s)" | tee -a "$O/ab.txt"
timeout 420 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"
