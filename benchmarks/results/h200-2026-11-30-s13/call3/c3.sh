#!/bin/bash
# Session 13, call 3: decode K/V copies with an L2 evict-first policy (kv_b/ef) against main,
# A/B/A/B with bits compared, FlashInfer in the same run; prefill Q copies evict-first (kv_b/pq)
# and the ping-pong consumers (kv_b/pp) against main, A/B/C/A/B/C.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
D="python3 scripts/decode_sweep.py --rows 1x4096 8x4096 1x32768 32x4096 64x4096"
dsweep() { timeout 90 $D "$@" 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt; }
dsweep --label main --save /tmp/dm --flashinfer
PAL_KERNEL_DIR=kv_b/ef dsweep --label ef --compare /tmp/dm
dsweep --label main-again
PAL_KERNEL_DIR=kv_b/ef dsweep --label ef-again --compare /tmp/dm --flashinfer
F="--kv-dtype float8_e4m3fn --rows 8x4096 32x4096"
timeout 60 python3 scripts/decode_sweep.py $F --label main --save /tmp/df 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
PAL_KERNEL_DIR=kv_b/ef timeout 60 python3 scripts/decode_sweep.py $F --label ef --compare /tmp/df 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
echo "decode done ($SECONDS s)" | tee -a $O/decode.txt
S="python3 scripts/prefill_sweep.py"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
sweep() { timeout 70 $S --rows $ROWS "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/prefill.txt; }
sweep --label main --save /tmp/pm
PAL_KERNEL_DIR=kv_b/pq sweep --label pq --compare /tmp/pm
PAL_KERNEL_DIR=kv_b/pp sweep --label pp --compare /tmp/pm
sweep --label main-again
PAL_KERNEL_DIR=kv_b/pq sweep --label pq-again --compare /tmp/pm
PAL_KERNEL_DIR=kv_b/pp sweep --label pp-again --compare /tmp/pm
echo "end ($SECONDS s)" | tee -a $O/prefill.txt
