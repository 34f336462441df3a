#!/bin/bash
# Session 9, call 5: page ids a tile ahead in the producer; pal value plan; kernel time and bits
# against the lockstep form; the page-size tests; ncu of pal history.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site PAL_KERNEL_DIR=crates/pal-core/kernels
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
S="python3 scripts/prefill_sweep.py"
PAL_PREFILL_TUNING=producer=0 timeout 40 $S --label lockstep --save /tmp/pv 2>&1 | tee -a $O/sweep.txt
timeout 40 $S --label ws --compare /tmp/pv 2>&1 | tee -a $O/sweep.txt
for pg in 2 8 32; do
  timeout 40 $S --label ws-p$pg --page $pg --rows 4x1024+8192 2>&1 | tee -a $O/sweep.txt
done
timeout 100 python3 -m pytest -q -x -p no:cacheprovider tests/test_cuda.py -k "every_page_size or (prefill_matches and 128)" 2>&1 | tail -3 | tee $O/tests.txt
timeout 100 python3 scripts/ncu_report.py prefill --layout pal --row 4x1024+8192 --out $O/ncu-pal 2>&1 | head -14
