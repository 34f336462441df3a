#!/bin/bash
# Call 3: the portable prefill's V form as a template parameter (kv_b/k1) against call 2's
# form (the wheel's kernels), FlashInfer FA2 beside; ncu of both layouts' history row.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
S="python3 scripts/prefill_sweep.py"
export PAL_PREFILL_PATH=portable
timeout 60 $S --label call2 --save /tmp/s2 2>&1 | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/k1 timeout 150 $S --label split --compare /tmp/s2 --flashinfer fa2 2>&1 | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/k1 PAL_PREFILL_TUNING=keys=32 timeout 60 $S --label split32 --layouts pal 2>&1 | tee -a $O/sweep.txt
timeout 60 $S --label call2-again --compare /tmp/s2 2>&1 | tee -a $O/sweep.txt
for L in nhd pal; do
  PAL_KERNEL_DIR=kv_b/k1 timeout 150 python3 scripts/ncu_report.py prefill --layout $L --row 4x1024+8192 --out $O/ncu-$L 2>&1 | tail -40 | tee -a $O/ncu.txt
done
echo "done ($SECONDS s)"
