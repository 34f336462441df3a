#!/bin/bash
# Session 10, call 2: items handed out by a counter (the persistent prefill's dynamic schedule),
# pal K tiles in pool order, pal pages of 2 slots in the lockstep form: kernel time by graph
# replay against the portable kernel's output (--check), 64-key tiles with and without a
# second Q tile, page sizes, head dim 64; then the prefill tests (two streams, graphs).
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site PAL_KERNEL_DIR=crates/pal-core/kernels
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
S="python3 scripts/prefill_sweep.py"
run() { timeout 60 "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt; }
run $S --label counter --check --save /tmp/pv
PAL_PREFILL_TUNING=persistent=0 run $S --label item-per-cta --compare /tmp/pv
PAL_PREFILL_TUNING=keys=64,stages=4 run $S --label k64s4
PAL_PREFILL_TUNING=qbuf=2,keys=64,stages=4 run $S --label k64s4-qbuf2
run $S --label counter-again --compare /tmp/pv
run $S --label counter-d64 --dim 64 --rows 4x4096+0 16x1024+0 4x1024+8192
for pg in 1 2 4 8 32 128; do
  run $S --label counter-p$pg --page $pg --rows 4x1024+8192 16x1024+0
done
timeout 200 python3 -m pytest -q -x -p no:cacheprovider tests/test_cuda.py tests/test_determinism.py -k "prefill or stream or graph or determin" 2>&1 | tail -3 | tee $O/tests.txt
echo "== sweep"; cat $O/sweep.txt
