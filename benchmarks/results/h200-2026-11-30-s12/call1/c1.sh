#!/bin/bash
# Session 12, call 1: the Hopper prefill's 16-byte output stores and fp8 16-byte widening stores
# (kv_b/qs = 12a0857) and the cross-item S (kv_b/xi) against main's kernels (the wheel of 42a61c8):
# a hang guard, then sweeps A/B/C/A with bits compared, fp8 rows; FlashInfer's JIT warmed in the
# background and its cache sent back; then the suite on xi while time is left.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS="--timeout=90"
O=$OUT; T0=$SECONDS
left() { echo $((575 - SECONDS + T0)); }
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
(nice -n 5 python3 kv_b/fi_warm.py > $O/fi_warm.log 2>&1; tar czf $O/fi_cache.tgz -C ~/.cache flashinfer; echo "tar $? ($SECONDS s)" >> $O/fi_warm.log) &
PAL_KERNEL_DIR=kv_b/xi timeout 100 python3 -m pytest -q -x -p no:cacheprovider -n 8 tests/test_cuda.py tests/test_fp8.py \
  -k "prefill_long or prefill_ragged or prefill_prompt_and or two_streams or prefill_equal or (long and cuda and prefill)" > $O/smoke.txt 2>&1
echo "smoke rc $? ($SECONDS s)"; tail -2 $O/smoke.txt
S="python3 scripts/prefill_sweep.py"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
sweep() { timeout 70 $S --rows $ROWS "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt; }
sweep --label main --save /tmp/pm
PAL_KERNEL_DIR=kv_b/qs sweep --label qs --compare /tmp/pm
PAL_KERNEL_DIR=kv_b/xi sweep --label xi --compare /tmp/pm
sweep --label main-again
F="--kv-dtype float8_e4m3fn --rows 1x4096+0 4x1024+8192 8x512+4096"
timeout 45 $S --label main $F --save /tmp/pf 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/xi timeout 45 $S --label xi $F --compare /tmp/pf 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
echo "sweeps done ($SECONDS s)"; wait; tail -3 $O/fi_warm.log; ls -la $O/fi_cache.tgz
if [ $(left) -gt 200 ]; then
  PAL_KERNEL_DIR=kv_b/xi timeout $(( $(left) - 5 )) bash scripts/gpu_suite.sh gpu-bundle $O/suite tests; echo "suite status $? ($SECONDS s)"
fi
echo "end ($SECONDS s)"
