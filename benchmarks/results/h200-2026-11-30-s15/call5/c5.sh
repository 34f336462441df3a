#!/bin/bash
# Session 15, call 5: fp8 decode at 2 CTAs per SM (32 x 4096: 256 CTAs on 132 SMs): more warps
# per SM by shape knobs (8 warps at 128 registers; 4 CTAs at 128), and odd k-steps of S in a
# second accumulator (kv_b/ilp: two mma chains of half the length), against main (kv_b/pp).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS="--timeout=120"
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
PAL_KERNEL_DIR=kv_b/ilp timeout 100 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_fp8.py -k "decode" > $O/tests.txt 2>&1
echo "ilp tests rc $? ($SECONDS s)" | tee -a $O/decode.txt; tail -1 $O/tests.txt | tee -a $O/decode.txt
R="--kv-dtype float8_e4m3fn --rows 8x4096 32x4096 64x4096"
row() { timeout 90 python3 scripts/decode_sweep.py $R "$@" 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt; }
PAL_KERNEL_DIR=kv_b/pp row --label main --save /tmp/m8
PAL_KERNEL_DIR=kv_b/ilp row --label ilp --compare /tmp/m8
for knob in warps=8,min_ctas=2 warps=8,min_ctas=2,stages=2 min_ctas=4; do
  PAL_KERNEL_DIR=kv_b/pp PAL_DECODE_TUNING=$knob row --label "$knob" --compare /tmp/m8
done
PAL_KERNEL_DIR=kv_b/pp row --label main-again
echo "end ($SECONDS s)" | tee -a $O/decode.txt
