#!/bin/bash
# Session 13, call 4 (final form candidate): the wheel of main + decode evict-first K/V copies
# (host rule: reads <= 4x L2) + the Hopper prefill's ping-pong consumers. Decode rows at the
# default rule, evict-first never (evict=0) and always (evict=100000), FlashInfer in the same
# run; fp8 rows; prefill against main's kernels (kv_b/mk, bits compared); then the whole suite,
# memcheck and the Rust example (scripts/gpu_suite.sh).
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS="--timeout=120"
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
D="python3 scripts/decode_sweep.py --rows 1x4096 2x4096 4x4096 8x4096 16x4096 1x32768 32x4096 64x4096"
dsweep() { timeout 100 $D "$@" 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt; }
dsweep --label default --save /tmp/dd --flashinfer
PAL_DECODE_TUNING=evict=0 dsweep --label never --compare /tmp/dd
PAL_DECODE_TUNING=evict=100000 dsweep --label always --compare /tmp/dd
F="--kv-dtype float8_e4m3fn --rows 8x4096 16x4096 32x4096"
timeout 60 python3 scripts/decode_sweep.py $F --label default --flashinfer 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
PAL_DECODE_TUNING=evict=0 timeout 60 python3 scripts/decode_sweep.py $F --label never 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
echo "decode done ($SECONDS s)" | tee -a $O/decode.txt
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
PAL_KERNEL_DIR=kv_b/mk timeout 70 $S --label main --save /tmp/pm 2>&1 | grep -E "TFLOP|rror" | tee -a $O/prefill.txt
timeout 70 $S --label pingpong --compare /tmp/pm 2>&1 | grep -E "TFLOP|rror" | tee -a $O/prefill.txt
echo "prefill done ($SECONDS s)" | tee -a $O/prefill.txt
timeout $((590 - SECONDS)) bash scripts/gpu_suite.sh gpu-bundle $O/suite tests > $O/suite.txt 2>&1; echo "suite status $? ($SECONDS s)" | tee -a $O/suite.txt
rm -f $O/suite/gpu.txt
