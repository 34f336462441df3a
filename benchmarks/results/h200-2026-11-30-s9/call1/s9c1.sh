#!/bin/bash
# Session 9, call 1: the warp-specialised Hopper prefill (producer warpgroup, mbarrier ring, S of
# tile j with P V of tile j - 1): prefill tests, then kernel time of every form, same run.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
timeout 150 python3 -m pytest -q -x -p no:cacheprovider tests/test_cuda.py tests/test_variants.py tests/test_full_attention.py -k prefill 2>&1 | tail -15 | tee $O/tests.txt
S="python3 scripts/prefill_sweep.py"
PAL_PREFILL_TUNING=producer=0 timeout 40 $S --label old --save /tmp/pv 2>&1 | tee -a $O/sweep.txt
timeout 40 $S --label ws3 --compare /tmp/pv 2>&1 | tee -a $O/sweep.txt
PAL_PREFILL_TUNING=stages=2 timeout 40 $S --label ws2 --compare /tmp/pv 2>&1 | tee -a $O/sweep.txt
for v in r88 r40 nofence pp ppnf r88pp; do
  PAL_KERNEL_DIR=kv_b/pv/$v timeout 40 $S --label $v --compare /tmp/pv 2>&1 | tee -a $O/sweep.txt
done
timeout 40 $S --label ws3-D64 --dim 64 --rows 4x4096+0 4x1024+8192 2>&1 | tee -a $O/sweep.txt
PAL_PREFILL_TUNING=producer=0 timeout 40 $S --label old-D64 --dim 64 --rows 4x4096+0 4x1024+8192 2>&1 | tee -a $O/sweep.txt
timeout 40 $S --label ws-D256 --dim 256 --rows 4x4096+0 4x1024+8192 2>&1 | tee -a $O/sweep.txt
PAL_PREFILL_TUNING=producer=0 timeout 40 $S --label old-D256 --dim 256 --rows 4x4096+0 4x1024+8192 2>&1 | tee -a $O/sweep.txt
