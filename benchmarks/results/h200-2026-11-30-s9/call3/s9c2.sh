#!/bin/bash
# Session 9, call 3 (call 2 again, host shared bytes mended; pal page 1 history as rows): the persistent warp-specialised Hopper prefill and the pal value-run plan:
# prefill tests, kernel time of each form (same run), page sizes and head dims, ncu of pal history.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
export PAL_KERNEL_DIR=crates/pal-core/kernels
S="python3 scripts/prefill_sweep.py"
PAL_PREFILL_TUNING=producer=0 timeout 40 $S --label lockstep --save /tmp/pv 2>&1 | tee -a $O/sweep.txt
PAL_PREFILL_TUNING=persistent=0 timeout 40 $S --label ws-item --compare /tmp/pv 2>&1 | tee -a $O/sweep.txt
timeout 40 $S --label ws-persistent --compare /tmp/pv 2>&1 | tee -a $O/sweep.txt
timeout 250 python3 -m pytest -q -x -p no:cacheprovider tests/test_cuda.py tests/test_variants.py tests/test_full_attention.py tests/test_determinism.py tests/test_errors.py -k "prefill or Prefill" 2>&1 | tail -8 | tee $O/tests.txt
for pg in 1 4 8 32 64 128; do
  timeout 40 $S --label ws-p$pg --page $pg --rows 1x4096+0 4x1024+8192 2>&1 | tee -a $O/sweep.txt
done
for pg in 1 128; do
  PAL_PREFILL_TUNING=producer=0 timeout 40 $S --label lockstep-p$pg --page $pg --rows 4x1024+8192 2>&1 | tee -a $O/sweep.txt
done
for d in 64 192; do
  timeout 40 $S --label default-D$d --dim $d --rows 4x4096+0 4x1024+8192 2>&1 | tee -a $O/sweep.txt
  PAL_PREFILL_TUNING=producer=1 timeout 40 $S --label ws-D$d --dim $d --rows 4x4096+0 4x1024+8192 2>&1 | tee -a $O/sweep.txt
done
timeout 100 python3 scripts/ncu_report.py prefill --layout pal --row 4x1024+8192 --out $O/ncu-pal 2>&1 | tail -40
