#!/bin/bash
# Session 12, call 2: where the consumers issue the next item's first S. kv_b/qs (none: 12a0857),
# kv_b/xi (behind the last P V, slot released after), kv_b/xi2 (slot released at once, S issued
# between the output's two rows), kv_b/xi3 (slot released at once, S before the output): bf16
# sweeps A/B/C/D/A with bits compared, fp8 rows; FlashInfer's fp8 modules compiled in the
# background; the lab's fp8 prefill rows with FlashInfer (FA2 path) beside PAL (xi2).
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT; T0=$SECONDS
left() { echo $((580 - SECONDS + T0)); }
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl 2>/dev/null || exit 1
export PYTHONPATH=/tmp/site
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/gpu.txt
(nice -n 5 python3 kv_b/fi_warm8.py > $O/fi_warm8.log 2>&1; tar czf $O/fi_cache.tgz -C ~/.cache flashinfer; echo "tar $? ($SECONDS s)" >> $O/fi_warm8.log) &
S="python3 scripts/prefill_sweep.py"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
sweep() { timeout 70 $S --rows $ROWS "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt; }
PAL_KERNEL_DIR=kv_b/qs sweep --label qs --save /tmp/pq
PAL_KERNEL_DIR=kv_b/xi sweep --label xi --compare /tmp/pq
PAL_KERNEL_DIR=kv_b/xi2 sweep --label xi2 --compare /tmp/pq
PAL_KERNEL_DIR=kv_b/xi3 sweep --label xi3 --compare /tmp/pq
PAL_KERNEL_DIR=kv_b/qs sweep --label qs-again
F="--kv-dtype float8_e4m3fn --rows 1x4096+0 4x1024+8192 8x512+4096"
for v in qs xi2 xi3; do
  PAL_KERNEL_DIR=kv_b/$v timeout 45 $S --label $v $F 2>&1 | grep -E "TFLOP|rror" | tee -a $O/sweep.txt
done
echo "sweeps done ($SECONDS s)"; wait; cat $O/fi_warm8.log | grep -v "^\s*$" | grep -iv warn | tail -5
R="1x4096+0 4x1024+8192 8x512+4096"
PAL_KERNEL_DIR=kv_b/xi2 timeout $(( $(left) - 5 )) python3 -m proxy_attention_lab.bench --ops prefill --prefill $R --layout nhd \
  --dtype bfloat16 --kv-dtype float8_e4m3fn --no-plots --out $O/lab-fp8-nhd > $O/lab-fp8-nhd.log 2>&1
grep -E "pal |flashinfer|ceilings|rror" $O/lab-fp8-nhd.log | tail -12
echo "end ($SECONDS s)"
