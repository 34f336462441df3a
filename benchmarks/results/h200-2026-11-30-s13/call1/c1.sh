#!/bin/bash
# Session 13, call 1: the prepared patches. Ping-pong consumers (kv_b/pp) A/B/A against main with
# bits compared (bf16 both layouts, fp8 rows); prefill stamps (kv_b/ps); decode stamps (kv_b/ds);
# soft-cap on the FMA pipe (kv_b/sc): variant tests, then soft-cap vs plain prefill, main and sc.
# FlashInfer's JIT warmed in the background, its cache sent back.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS="--timeout=90"
O=$OUT; T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
(nice -n 5 python3 kv_b/fi_warm.py > $O/fi_warm.log 2>&1; tar czf $O/fi_cache.tgz -C ~/.cache flashinfer; echo "tar $? ($SECONDS s)" >> $O/fi_warm.log) &
PAL_KERNEL_DIR=kv_b/pp timeout 100 python3 -m pytest -q -x -p no:cacheprovider -n 8 tests/test_cuda.py tests/test_fp8.py \
  -k "prefill_long or prefill_ragged or prefill_prompt_and or two_streams or prefill_equal or (long and cuda and prefill)" > $O/smoke.txt 2>&1
echo "pp smoke rc $? ($SECONDS s)" | tee -a $O/log.txt; tail -2 $O/smoke.txt | tee -a $O/log.txt
S="python3 scripts/prefill_sweep.py"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
sweep() { timeout 70 $S --rows $ROWS "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt; }
sweep --label main --save /tmp/pm
PAL_KERNEL_DIR=kv_b/pp sweep --label pp --compare /tmp/pm
sweep --label main-again
F="--kv-dtype float8_e4m3fn --rows 1x4096+0 4x1024+8192 8x512+4096"
timeout 45 $S --label main $F --save /tmp/pf 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/pp timeout 45 $S --label pp $F --compare /tmp/pf 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
echo "sweeps done ($SECONDS s)" | tee -a $O/log.txt
PAL_KERNEL_DIR=kv_b/ps timeout 60 python3 benchmarks/prepared/prefill_stamps.py --layouts nhd pal \
  --rows 16x1024+0 1x4096+0 4x4096+0 4x1024+8192 > $O/prefill_stamps.txt 2>&1; echo "ps rc $? ($SECONDS s)" | tee -a $O/log.txt
PAL_KERNEL_DIR=kv_b/ds timeout 60 python3 benchmarks/prepared/decode_stamps.py --rows 8x4096 1x32768 32x4096 1x4096 \
  > $O/decode_stamps.txt 2>&1; echo "ds rc $? ($SECONDS s)" | tee -a $O/log.txt
PAL_KERNEL_DIR=kv_b/sc timeout 120 python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_variants.py -k "prefill and cuda" > $O/sc_tests.txt 2>&1
echo "sc tests rc $? ($SECONDS s)" | tee -a $O/log.txt; tail -2 $O/sc_tests.txt | tee -a $O/log.txt
timeout 60 python3 scripts/variant_sweep.py --ops prefill 2>&1 | tail -14 > $O/variants_main.txt
PAL_KERNEL_DIR=kv_b/sc timeout 60 python3 scripts/variant_sweep.py --ops prefill 2>&1 | tail -14 > $O/variants_sc.txt
echo "variants done ($SECONDS s)" | tee -a $O/log.txt
wait; tail -3 $O/fi_warm.log; ls -la $O/fi_cache.tgz
echo "end ($SECONDS s)"
