#!/bin/bash
# Twenty-ninth session, call 5: the lab's fill rows (FlashInfer's append and the device copy in
# the same run) on the landed fill beside main's, per layout; fp8 e4m3 pools too.
. scripts/gpu_env.sh || exit 1
L="python3 -m proxy_attention_lab.bench --device cuda --ops fill --dtype bfloat16 --fill 4096 32768 256x1 --no-plots --out /tmp/b"
for r in 1 2; do
for lay in pal nhd hnd; do
  echo "== landed $lay round $r"; PAL_KERNEL_DIR=crates/pal-core/kernels timeout 60 $L --layout $lay 2>&1 | grep -E "^fill|ceilings" | tail -10
  echo "== main $lay round $r"; PAL_KERNEL_DIR=kv_b/fillx/kmain PAL_FILL_TUNING=chunk=128,threads=128 timeout 60 $L --layout $lay 2>&1 | grep -E "^fill|ceilings" | tail -10
done
done > $O/lab.txt
for lay in pal nhd; do
  echo "== landed fp8 $lay"; PAL_KERNEL_DIR=crates/pal-core/kernels timeout 60 $L --layout $lay --kv-dtype float8_e4m3fn 2>&1 | grep -E "^fill|ceilings" | tail -10
  echo "== main fp8 $lay"; PAL_KERNEL_DIR=kv_b/fillx/kmain PAL_FILL_TUNING=chunk=128,threads=128 timeout 60 $L --layout $lay --kv-dtype float8_e4m3fn 2>&1 | grep -E "^fill|ceilings" | tail -10
done >> $O/lab.txt
cat $O/lab.txt
echo "done $SECONDS s"
