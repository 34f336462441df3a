#!/bin/bash
# Session 15, call 3: periodic copy plans (fp8 pal K, nhd / hnd rows) and MUFU-only exponentials
# in the softmax (kv_b/pp) against main's kernels: decode tests on them, then decode rows A/B/A
# (bf16 and fp8 e4m3, pal and nhd) with bits compared, and prefill rows' bits (the rescale factor).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS="--timeout=120"
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
PAL_KERNEL_DIR=kv_b/pp timeout 200 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py tests/test_variants.py -k "decode or softmax or past_the_end" > $O/tests.txt 2>&1
echo "pp tests rc $? ($SECONDS s)" | tee -a $O/log.txt; tail -2 $O/tests.txt | tee -a $O/log.txt
R="--layouts pal nhd --rows 1x4096 8x4096 32x4096 64x4096"
row() { timeout 90 "$@" 2>&1 | grep -E "TB/s|rror|differs" | tee -a $O/decode.txt; }
row python3 scripts/decode_sweep.py $R --label main --save /tmp/m16
PAL_KERNEL_DIR=kv_b/pp row python3 scripts/decode_sweep.py $R --label pp --compare /tmp/m16
row python3 scripts/decode_sweep.py $R --label main-again
row python3 scripts/decode_sweep.py $R --kv-dtype float8_e4m3fn --label main-fp8 --save /tmp/m8
PAL_KERNEL_DIR=kv_b/pp row python3 scripts/decode_sweep.py $R --kv-dtype float8_e4m3fn --label pp-fp8 --compare /tmp/m8
row python3 scripts/decode_sweep.py $R --kv-dtype float8_e4m3fn --label main-fp8-again
echo "decode done ($SECONDS s)" | tee -a $O/log.txt
P="python3 scripts/prefill_sweep.py --layouts nhd pal --rows 16x1024+0 4x1024+8192"
timeout 90 $P --save /tmp/pf > $O/prefill.txt 2>&1
PAL_KERNEL_DIR=kv_b/pp timeout 90 $P --compare /tmp/pf >> $O/prefill.txt 2>&1
echo "end ($SECONDS s)" | tee -a $O/log.txt
