#!/bin/bash
# Call 2 (eighteenth session): the portable prefill with copy plans and 64-key tiles against
# main's portable kernel (kv_b/k0) and FlashInfer's FA2 / FA3 paths, then its tests.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
S="python3 scripts/prefill_sweep.py"
export PAL_PREFILL_PATH=portable
PAL_KERNEL_DIR=kv_b/k0 PAL_PREFILL_TUNING=keys=32 timeout 150 $S --label old --save /tmp/s_old --flashinfer fa2 fa3 2>&1 | tee -a $O/sweep.txt
PAL_PREFILL_TUNING=keys=32 timeout 60 $S --label new32 --compare /tmp/s_old 2>&1 | tee -a $O/sweep.txt
timeout 60 $S --label new64 --compare /tmp/s_old --save /tmp/s_new 2>&1 | tee -a $O/sweep.txt
PAL_KERNEL_DIR=kv_b/k0 PAL_PREFILL_TUNING=keys=32 timeout 60 $S --label old-again --compare /tmp/s_old 2>&1 | tee -a $O/sweep.txt
timeout 60 $S --label new64-again --compare /tmp/s_new 2>&1 | tee -a $O/sweep.txt
for d in 96 64; do
  PAL_KERNEL_DIR=kv_b/k0 PAL_PREFILL_TUNING=keys=$((d == 64 ? 64 : 32)) timeout 60 $S --dim $d --rows 4x4096+0 4x1024+8192 --label old-d$d --save /tmp/d$d 2>&1 | tee -a $O/sweep.txt
  PAL_PREFILL_TUNING=keys=32 timeout 60 $S --dim $d --rows 4x4096+0 4x1024+8192 --label new32-d$d --compare /tmp/d$d 2>&1 | tee -a $O/sweep.txt
  timeout 60 $S --dim $d --rows 4x4096+0 4x1024+8192 --label new64-d$d --compare /tmp/d$d 2>&1 | tee -a $O/sweep.txt
done
for p in 1 2 4 64 128; do
  timeout 60 $S --page $p --rows 4x4096+0 4x1024+8192 --label new-p$p 2>&1 | tee -a $O/sweep.txt
done
unset PAL_PREFILL_PATH
echo "tests ($SECONDS s)"
PAL_PREFILL_PATH=portable timeout 200 python3 -m pytest -q -x -n 12 -p no:cacheprovider tests/test_cuda.py tests/test_variants.py tests/test_fp8.py -k "prefill and not cpu" > $O/tests.txt 2>&1
tail -5 $O/tests.txt
PAL_PREFILL_PATH=portable timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "prefill and (bad or ragged or every_page_size or lengths)" > $O/memcheck.txt 2>&1
echo "memcheck rc $?"; grep -E "ERROR SUMMARY|passed|failed" $O/memcheck.txt | tail -3
echo "done ($SECONDS s)"
