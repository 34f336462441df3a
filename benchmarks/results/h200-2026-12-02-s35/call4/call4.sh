#!/bin/bash
# Session 35, call 4: the whole GPU suite and memcheck on the final form (the wheel of this tree:
# fp8 six-warp grids, the float32 pal page-4 ring), then fp8 rows by the default path against
# main's four-warp shape (PAL_DECODE_TUNING=warps=4,min_ctas=1), one round each way.
. scripts/gpu_env.sh || exit 1
bash scripts/kernel_suite.sh crates/pal-core/kernels 420
echo "suite done $SECONDS s"
for c in main:warps=4,min_ctas=1 six: main:warps=4,min_ctas=1 six:; do
  PAL_DECODE_TUNING=${c#*:} timeout 60 python3 scripts/decode_sweep.py --label ${c%%:*} --kv-dtype float8_e4m3fn \
    --rows 32x4096 48x4096 52x4096 64x4096 2>&1 | grep -E "us|rror" >> $O/six.txt
  [ $SECONDS -gt 560 ] && break
done
cat $O/six.txt
echo "all done $SECONDS s"
