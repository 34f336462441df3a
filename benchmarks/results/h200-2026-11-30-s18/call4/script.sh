#!/bin/bash
# Call 4: the portable prefill's copy plans, pool-order pal tiles and softmax chains (kv_b/kA:
# serial row max, kv_b/kB: four chains) against call 3's form (kv_b/k1 on the old wheel), FA2
# beside; the Hopper path with kA / kB (raw_row_max is shared).
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site_old kv_b/old/*.whl || exit 1
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
S="python3 scripts/prefill_sweep.py"
export PAL_PREFILL_PATH=portable
PYTHONPATH=/tmp/site_old PAL_KERNEL_DIR=kv_b/k1 timeout 100 $S --label call3 --save /tmp/s_old --flashinfer fa2 2>&1 | tee -a $O/sweep.txt
export PYTHONPATH=/tmp/site
PAL_KERNEL_DIR=kv_b/kA timeout 60 $S --label chains1 --compare /tmp/s_old 2>&1 | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/kB timeout 60 $S --label chains4 --compare /tmp/s_old 2>&1 | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/kA timeout 60 $S --label chains1-again --compare /tmp/s_old 2>&1 | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/kB timeout 60 $S --label chains4-again --compare /tmp/s_old 2>&1 | tee -a $O/sweep.txt
for k in kA kB; do
  PAL_KERNEL_DIR=kv_b/$k timeout 60 $S --dim 96 --rows 4x4096+0 4x1024+8192 --label $k-d96 2>&1 | tee -a $O/sweep.txt
  PAL_KERNEL_DIR=kv_b/$k timeout 60 $S --page 8 --rows 4x4096+0 4x1024+8192 --label $k-p8 2>&1 | tee -a $O/sweep.txt
done
unset PAL_PREFILL_PATH
PAL_KERNEL_DIR=kv_b/kA timeout 60 $S --label hopper-chains1 --save /tmp/hA --flashinfer fa3 2>&1 | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/kB timeout 60 $S --label hopper-chains4 --compare /tmp/hA 2>&1 | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/kA timeout 60 $S --label hopper-chains1-again --compare /tmp/hA 2>&1 | tee -a $O/sweep.txt
echo "done ($SECONDS s)"
