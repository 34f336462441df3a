#!/bin/bash
# Session 11, call 4 (final form): main's bf16 prefill (early Q release + whole prompt tiles
# without a predicate, 920a288) with the fp8 Hopper prefill (branch s11/final: staged widening,
# the hand-off fix, FlashInfer as the lab's fp8 peer). An fp8 smoke test under a hard timeout
# chooses the suite's wheel: s11/final's if it passes, else main's (same bf16 SASS on eight
# specialisations). Then memcheck over fp8 prefill, the bf16 sweep (main's form against
# kv_b/eq, bits compared), fp8 timings and the lab rows, each while time is left.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT; T0=$SECONDS
left() { echo $((585 - SECONDS + T0)); }
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
mkdir -p /tmp/b8 && cp gpu-bundle/*.whl gpu-bundle/cuda_decode /tmp/b8/ && rm /tmp/b8/proxy*.whl && cp gpu-bundle-fp8/proxy*.whl /tmp/b8/
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/smoke /tmp/b8/*.whl
PYTHONPATH=/tmp/smoke timeout 120 python3 -m pytest -q -x -p no:cacheprovider tests/test_fp8.py -k "prefill and cuda" > $O/fp8smoke.txt 2>&1; rc=$?
echo "fp8 smoke rc $rc ($SECONDS s)"; tail -2 $O/fp8smoke.txt
if [ $rc = 0 ]; then B=/tmp/b8; else B=gpu-bundle; fi
echo "suite on $B"
timeout 300 bash scripts/gpu_suite.sh $B $O/suite tests; echo "suite status $? ($SECONDS s)"
cat $O/suite/gpu.txt; rm -f $O/suite/gpu.txt
export PYTHONPATH=/tmp/site
if [ $B = /tmp/b8 ] && [ $(left) -gt 200 ]; then
  timeout 70 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_fp8.py -k "prefill and cuda and (long or 16-)" > $O/memcheck-fp8.log 2>&1; echo "fp8 memcheck $? ($SECONDS s)"; grep -E "ERROR SUMMARY|passed|failed" $O/memcheck-fp8.log | tail -2
fi
S="python3 scripts/prefill_sweep.py"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
if [ $(left) -gt 120 ]; then
  PAL_KERNEL_DIR=kv_b/eq timeout 50 $S --label early-q --rows $ROWS --save /tmp/pv 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
  timeout 50 $S --label final --rows $ROWS --compare /tmp/pv 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
fi
if [ $B = /tmp/b8 ] && [ $(left) -gt 60 ]; then
  timeout 40 $S --label fp8 --kv-dtype float8_e4m3fn --rows 1x4096+0 4x1024+8192 8x512+4096 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
fi
R="1x4096+0 4x1024+8192 8x512+4096"
if [ $B = /tmp/b8 ] && [ $(left) -gt 100 ]; then
  timeout $(( $(left) - 5 )) python3 -m proxy_attention_lab.bench --ops prefill --prefill $R --layout nhd --dtype bfloat16 --kv-dtype float8_e4m3fn --no-plots --out $O/lab-fp8-nhd > $O/lab-fp8-nhd.log 2>&1
  grep -E "pal |flashinfer|ceilings" $O/lab-fp8-nhd.log | tail -9
fi
if [ $(left) -gt 100 ]; then
  timeout $(( $(left) - 5 )) python3 -m proxy_attention_lab.bench --ops prefill --prefill 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 --layout nhd --dtype bfloat16 --no-plots --out $O/lab-nhd > $O/lab-nhd.log 2>&1
  grep -E "pal |flashinfer|ceilings" $O/lab-nhd.log | tail -12
fi
echo "end ($SECONDS s)"
