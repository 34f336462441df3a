#!/bin/bash
# Session 12, call 4: the producer issues an item's first tile before it waits for Q (kv_b/qf)
# against HEAD's kernels (kv_b/pf: 16-byte O stores, fp8 stores, pal fp8 K order), A/B/A with
# bits compared, bf16 and fp8 rows; then decode shapes by batch size (kernel time, graph replay):
# default against PAL_DECODE_TUNING stages=2 (three CTAs per SM) and warps=8,stages=2.
export PYTHONUNBUFFERED=1
O=$OUT; T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl 2>/dev/null || exit 1
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
S="python3 scripts/prefill_sweep.py"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
sweep() { timeout 60 $S "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt; }
PAL_KERNEL_DIR=kv_b/pf sweep --label pf --rows $ROWS --save /tmp/a
PAL_KERNEL_DIR=kv_b/qf sweep --label qf --rows $ROWS --compare /tmp/a
PAL_KERNEL_DIR=kv_b/pf sweep --label pf-again --rows $ROWS
PAL_KERNEL_DIR=kv_b/qf sweep --label qf-again --rows $ROWS
F="--kv-dtype float8_e4m3fn --rows 1x4096+0 4x1024+8192 8x512+4096"
PAL_KERNEL_DIR=kv_b/pf sweep --label pf $F --save /tmp/f
PAL_KERNEL_DIR=kv_b/qf sweep --label qf $F --compare /tmp/f
echo "prefill done ($SECONDS s)"
D="python3 scripts/decode_sweep.py --rows 1x4096 2x4096 4x4096 8x4096 16x4096 32x4096 64x4096 1x32768 128x2048"
timeout 100 $D --label default --save /tmp/d 2>&1 | tee $O/decode-default.txt | tail -22
PAL_DECODE_TUNING=stages=2 timeout 100 $D --label stages2 --compare /tmp/d 2>&1 | tee $O/decode-stages2.txt | tail -22
PAL_DECODE_TUNING=warps=8,stages=2 timeout 100 $D --label w8s2 --compare /tmp/d 2>&1 | tee $O/decode-w8s2.txt | tail -22
echo "end ($SECONDS s)"
