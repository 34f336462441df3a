#!/bin/bash
# Session 10, call 1: the ninth session's prepared prefill branches against main's kernels, same
# run (kernel time by graph replay, bits compared): a second Q tile (qbuf=2, with 2 slots of 128
# keys or 4 of 64), pal history K tiles in pool order (kv_b/kint), pal over page sizes with both;
# then ncu of nhd 1 x 4096 / 4 x 4096 (why the larger row is slower) and of fill at 32768 tokens.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site PAL_KERNEL_DIR=crates/pal-core/kernels
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
S="python3 scripts/prefill_sweep.py"
run() { timeout 60 "$@" 2>&1 | grep -E "TFLOP|rror|same|differ" | tee -a $O/sweep.txt; }
run $S --label main --save /tmp/pv
PAL_PREFILL_TUNING=qbuf=2 run $S --label qbuf2 --compare /tmp/pv
PAL_PREFILL_TUNING=qbuf=2,keys=64,stages=4 run $S --label qbuf2-k64s4 --compare /tmp/pv
PAL_KERNEL_DIR=kv_b/kint run $S --label kint --compare /tmp/pv
PAL_KERNEL_DIR=kv_b/kint PAL_PREFILL_TUNING=qbuf=2 run $S --label kint-qbuf2 --compare /tmp/pv
run $S --label main-again --compare /tmp/pv
for pg in 1 2 4 8 32 128; do
  run $S --label main-p$pg --page $pg --layouts pal --rows 4x1024+8192 16x1024+0 --save /tmp/pp$pg
  PAL_KERNEL_DIR=kv_b/kint run $S --label kint-p$pg --page $pg --layouts pal --rows 4x1024+8192 16x1024+0 --compare /tmp/pp$pg
done
PAL_PREFILL_TUNING=producer=0 run $S --label lockstep-p2 --page 2 --layouts pal --rows 4x1024+8192 16x1024+0 --compare /tmp/pp2
timeout 60 python3 -m pytest -q -x -p no:cacheprovider tests/test_cuda.py -k "prefill" 2>&1 | tail -2 | tee $O/tests-main.txt
PAL_KERNEL_DIR=kv_b/kint PAL_PREFILL_TUNING=qbuf=2 timeout 60 python3 -m pytest -q -x -p no:cacheprovider tests/test_cuda.py -k "prefill" 2>&1 | tail -2 | tee $O/tests-kint-qbuf2.txt
for r in 1x4096+0 4x4096+0; do
  timeout 90 python3 scripts/ncu_report.py prefill --layout nhd --row $r --out $O/ncu-nhd-$r 2>&1 | head -14
done
for L in nhd pal; do
  timeout 60 python3 scripts/ncu_report.py fill --layout $L --row 32768 --out $O/ncu-fill-$L 2>&1 | head -14
done
echo "== sweep"; cat $O/sweep.txt
