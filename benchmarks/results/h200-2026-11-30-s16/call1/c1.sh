#!/bin/bash
# Session 16, call 1: the prepared next_call.sh (ncu of trailing rows, MQA / fp8 knobs, row-pages
# A/B), then the fill without barrier (kv_b/fnb) tests and lab A/B if time is left.
O=${OUT:-/tmp/out}; mkdir -p "$O"
bash benchmarks/prepared/next_call.sh
export PYTHONPATH=/tmp/site
if [ $SECONDS -lt 470 ]; then
  PAL_KERNEL_DIR=kv_b/fnb timeout 60 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py -k "fill and not cpu" > "$O/fnb_tests.txt" 2>&1
  echo "fnb tests rc $? ($SECONDS s)" | tee -a "$O/fill.txt"; tail -1 "$O/fnb_tests.txt" | tee -a "$O/fill.txt"
  for L in nhd pal; do
    for K in kv_b/mk kv_b/fnb; do
      [ $SECONDS -gt 570 ] && break
      PAL_KERNEL_DIR=$K timeout 40 python3 -m proxy_attention_lab.bench --ops fill --dtype bfloat16 --layout $L --no-plots --out /tmp/fb 2>&1 | grep -E "fill|copy" | sed "s|^|$L $K |" | tee -a "$O/fill.txt"
    done
  done
fi
echo "c1 end ($SECONDS s)" | tee -a "$O/fill.txt"
