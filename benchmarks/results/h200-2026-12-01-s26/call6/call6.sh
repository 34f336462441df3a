#!/bin/bash
# Twenty-sixth session, call 6 (main's wheel; PAL_KERNEL_DIR at the landed kernels, kv_b/m27):
# the fp8 producer's staged tiles widened before the next slot is waited for (kv_b/f8e, as the
# transposed values now are) against main, one round on fp8 history rows; the landed pal page 2
# beside FA3; the fp8 prefill tests on kv_b/f8e if time is left.
. scripts/gpu_env.sh || exit 1
ROUNDS=1 bash scripts/ab_rounds.sh "$O/f8e.txt" "python3 scripts/prefill_sweep.py --kv-dtype float8_e4m3fn --rows 4x1024+8192 8x512+4096 \
  --layouts nhd pal" m27 f8e
PAL_KERNEL_DIR=kv_b/m27 timeout 110 python3 -u scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal nhd --page 2 \
  --flashinfer fa3 --label main 2>&1 | tee -a "$O/fa3.txt"
if [ $SECONDS -lt 200 ]; then
  PAL_KERNEL_DIR=kv_b/f8e timeout 80 python3 -m pytest -q $(python3 -c "import xdist" 2>/dev/null && echo "-n 12") -p no:cacheprovider tests/test_fp8.py -k "prefill and not cpu" \
    > "$O/f8e_tests.txt" 2>&1; tail -3 "$O/f8e_tests.txt"
fi
echo "end ($SECONDS s)"
