#!/bin/bash
# Session 9, call 4: pal value plan (a thread's own page, immediate offsets), small-page pal runs
# (4 / 8-byte copies), zigzag rounds for the persistent grid: kernel time and bits against the
# lockstep form, same run.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site PAL_KERNEL_DIR=crates/pal-core/kernels
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
S="python3 scripts/prefill_sweep.py"
PAL_PREFILL_TUNING=producer=0 timeout 40 $S --label lockstep --save /tmp/pv 2>&1 | tee -a $O/sweep.txt
PAL_PREFILL_TUNING=persistent=0 timeout 40 $S --label ws-item --compare /tmp/pv 2>&1 | tee -a $O/sweep.txt
timeout 40 $S --label ws-zigzag --compare /tmp/pv 2>&1 | tee -a $O/sweep.txt
for pg in 2 4 8 32 128; do
  PAL_PREFILL_TUNING=producer=0 timeout 40 $S --label lockstep-p$pg --page $pg --layouts pal --rows 4x1024+8192 --save /tmp/pp 2>&1 | tee -a $O/sweep.txt
  timeout 40 $S --label ws-p$pg --page $pg --layouts pal --rows 4x1024+8192 --compare /tmp/pp 2>&1 | tee -a $O/sweep.txt
done
timeout 60 python3 -m pytest -q -x -p no:cacheprovider tests/test_cuda.py -k "prefill and (pal or 4-)" 2>&1 | tail -3 | tee $O/tests.txt
