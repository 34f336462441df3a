#!/bin/bash
# Session 13, call 2: K and V of a slot under separate barriers, the first S waiting for Q and K
# only (kv_b/kvb; kv_b/kvb2: the first K before Q's wait): smoke tests, sweeps A/B/A/B with bits compared, fp8 rows, stamps (kv_b/kps);
# soft-cap on the FMA pipe (kv_b/sc) against main, prefill variants; decode kernel durations
# under ncu beside graph-replay times; FlashInfer's decode JIT warmed in the background.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS="--timeout=90"
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
(nice -n 5 python3 kv_b/fi_warm_dec.py > $O/fi_warm.log 2>&1; nice -n 5 python3 kv_b/fi_warm8.py >> $O/fi_warm.log 2>&1; tar czf $O/fi_cache.tgz -C ~/.cache flashinfer; echo "tar $? ($SECONDS s)" >> $O/fi_warm.log) &
PAL_KERNEL_DIR=kv_b/kvb2 timeout 100 python3 -m pytest -q -x -p no:cacheprovider -n 8 tests/test_cuda.py tests/test_fp8.py \
  -k "prefill_long or prefill_ragged or prefill_prompt_and or two_streams or prefill_equal or (long and cuda and prefill)" > $O/smoke.txt 2>&1
echo "kvb2 smoke rc $? ($SECONDS s)" | tee -a $O/log.txt; tail -2 $O/smoke.txt | tee -a $O/log.txt
S="python3 scripts/prefill_sweep.py"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
sweep() { timeout 70 $S --rows $ROWS "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/log.txt; }
sweep --label main --save /tmp/pm
PAL_KERNEL_DIR=kv_b/kvb sweep --label kvb --compare /tmp/pm
PAL_KERNEL_DIR=kv_b/kvb2 sweep --label kvb2 --compare /tmp/pm
sweep --label main-again
PAL_KERNEL_DIR=kv_b/kvb sweep --label kvb-again --compare /tmp/pm
PAL_KERNEL_DIR=kv_b/kvb2 sweep --label kvb2-again --compare /tmp/pm
F="--kv-dtype float8_e4m3fn --rows 1x4096+0 4x1024+8192 8x512+4096"
timeout 45 $S --label main $F --save /tmp/pf 2>&1 | grep -E "TFLOP|rror" | tee -a $O/log.txt
PAL_KERNEL_DIR=kv_b/kvb timeout 45 $S --label kvb $F --compare /tmp/pf 2>&1 | grep -E "TFLOP|rror" | tee -a $O/log.txt
echo "sweeps done ($SECONDS s)" | tee -a $O/log.txt
PAL_KERNEL_DIR=kv_b/kps timeout 60 python3 benchmarks/prepared/prefill_stamps.py --layouts nhd pal \
  --rows 16x1024+0 4x4096+0 4x1024+8192 > $O/stamps.txt 2>&1; echo "kps rc $? ($SECONDS s)" | tee -a $O/log.txt
(echo "== main"; timeout 60 python3 scripts/variant_sweep.py --ops prefill 2>&1 | tail -14;
 echo "== sc"; PAL_KERNEL_DIR=kv_b/sc timeout 60 python3 scripts/variant_sweep.py --ops prefill 2>&1 | tail -14) > $O/variants.txt
echo "variants done ($SECONDS s)" | tee -a $O/log.txt
timeout 60 python3 scripts/decode_sweep.py --layouts nhd --rows 1x4096 8x4096 1x32768 32x4096 --label graph 2>&1 | grep -E "TB/s|rror" | tee -a $O/log.txt
timeout 120 ncu --clock-control none --metrics gpu__time_duration.sum -k regex:pal_decode python3 kv_b/dec_ncu.py 1x4096 8x4096 1x32768 32x4096 > $O/ncu.txt 2>&1
echo "ncu rc $? ($SECONDS s)" | tee -a $O/log.txt
wait; tail -4 $O/fi_warm.log | tee -a $O/log.txt; ls -la $O/fi_cache.tgz
echo "end ($SECONDS s)" | tee -a $O/log.txt
