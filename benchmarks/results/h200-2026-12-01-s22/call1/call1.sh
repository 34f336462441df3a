#!/bin/bash
# Twenty-second session, call 1: FlashInfer's JIT cache rebuilt in the background (kept as
# $O/fi_cache.tgz), the Hopper prefill's Q prefetch (qp, qp + uniform P V descriptors = qpu)
# A/B/A/B against main's kernels, and the decode's fused split merge (a wheel built with
# decode-fused-merge.patch, in kv_b/fmwhl) fused vs fused=0 from that one wheel.
. scripts/gpu_env.sh || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site_fm kv_b/fmwhl/*.whl || exit 1
(
  timeout 400 python3 scripts/prefill_sweep.py --rows 1x256+0 --layouts nhd --flashinfer fa2 fa3 --label warm
  timeout 300 python3 scripts/decode_sweep.py --rows 1x512 --layouts nhd --flashinfer --label warm
  timeout 300 python3 scripts/decode_sweep.py --rows 1x512 --layouts nhd --flashinfer --kv-dtype float8_e4m3fn --label warm
  tar czf "$O/fi_cache.tgz" -C ~/.cache flashinfer tvm-ffi 2>/dev/null || tar czf "$O/fi_cache.tgz" -C ~/.cache flashinfer
  ls -la ~/.cache; echo "warm done ($SECONDS s)"
) > "$O/fiwarm.txt" 2>&1 &
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
for round in 1 2; do
  for v in mainK qp qpu; do
    lab=$v; [ $v = mainK ] && lab=main
    if [ $round = 1 ] && [ $v = mainK ]; then cmp="--save /tmp/pm"; else cmp="--compare /tmp/pm"; fi
    PAL_KERNEL_DIR=kv_b/$v timeout 100 $S --label $lab $cmp 2>&1 | tee -a "$O/ab.txt"
  done
done
echo "prefill done ($SECONDS s)"
D="python3 scripts/decode_sweep.py --rows 1x4096 1x32768 2x4096 4x4096 8x4096 16x4096 32x4096"
for round in 1 2; do
  if [ $round = 1 ]; then cmp="--save /tmp/dm"; else cmp="--compare /tmp/dm"; fi
  PYTHONPATH=/tmp/site_fm PAL_DECODE_TUNING=fused=0 timeout 100 $D --label merge $cmp 2>&1 | tee -a "$O/abd.txt"
  PYTHONPATH=/tmp/site_fm timeout 100 $D --label fused --compare /tmp/dm 2>&1 | tee -a "$O/abd.txt"
done
echo "decode done ($SECONDS s)"
python3 scripts/ab_verdict.py "$O/ab.txt" --candidates qp qpu --floor 0.97 --gain 1.01 | tee "$O/choice.txt"
python3 scripts/ab_verdict.py "$O/abd.txt" --baseline merge --candidates fused --floor 0.98 --gain 1.01 | tee "$O/choiced.txt"
if [ $SECONDS -lt 420 ]; then
  F="python3 scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192 8x512+4096"
  for opt in "--dim 64" "--kv-dtype float8_e4m3fn"; do
    tag=$(echo $opt | tr -d ' -')
    PAL_KERNEL_DIR=kv_b/mainK timeout 40 $F $opt --label main --save /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
    for v in qp qpu; do PAL_KERNEL_DIR=kv_b/$v timeout 40 $F $opt --label $v --compare /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"; done
  done
fi
wait; tail -3 "$O/fiwarm.txt"; ls -la "$O"; echo "end ($SECONDS s)"
