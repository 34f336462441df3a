#!/bin/bash
# Session 11, call 2: the fp8 Hopper prefill (s10/fp8-staged merged with s10/lab-fp8-prefill-peer,
# wheel in gpu-bundle-fp8/): fp8 and prefill tests, memcheck over fp8 prefill, the staged form
# against the unstaged one (kv_b/f8u, s10/fp8-wgmma's kernels) in the lab's rows, FlashInfer as peer.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site8 gpu-bundle-fp8/proxy*.whl $(ls gpu-bundle/*.whl | grep -v proxy_attention)
export PYTHONPATH=/tmp/site8
timeout 200 python3 -m pytest -q -x -p no:cacheprovider tests/test_fp8.py tests/test_cuda.py tests/test_variants.py -k "prefill" 2>&1 | tail -4 | tee $O/tests.txt
timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_fp8.py -k "prefill and cuda" > $O/memcheck.log 2>&1; grep -E "ERROR SUMMARY|passed|failed" $O/memcheck.log | tail -3
R="1x4096+0 4x1024+8192 8x512+4096"
for L in nhd pal; do
  timeout 200 python3 -m proxy_attention_lab.bench --ops prefill --prefill $R --layout $L --dtype bfloat16 --kv-dtype float8_e4m3fn --no-plots --out $O/lab-fp8-$L > $O/lab-fp8-$L.log 2>&1
  grep -E "pal |flashinfer|rror" $O/lab-fp8-$L.log | tail -9
done
for K in kv_b/f8u kv_b/f8s; do
  PAL_KERNEL_DIR=$K timeout 60 python3 scripts/prefill_sweep.py --label $K --layouts nhd pal --rows 1x4096+0 4x1024+8192 8x512+4096 --kv-dtype float8_e4m3fn 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
done
