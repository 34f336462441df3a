#!/bin/bash
# Forty-third session, call 1: 16-bit nhd / hnd decode at head dims 80 / 96 / 112 with unpadded,
# swizzled [key][dim] rows (the candidate: gpu-bundle/, and this tree's kernels) against main's
# wheel (gpu-bundle-main/), two alternating rounds, kernel time by graph replay, same bits
# checked; then fp8 pal ring depth (PAL_DECODE_TUNING stages, main's wheel) at pages 16 / 32 /
# 64; then memcheck on the candidate where a head dim won.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site-main gpu-bundle-main/proxy_attention_lab-*.whl || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
S="python3 scripts/decode_sweep.py"
won=0
for d in 80 96 112; do
  for round in 1 2; do
    for v in main cand; do
      site=/tmp/site; [ $v = main ] && site=/tmp/site-main
      chk="--compare /tmp/ab$d"; [ $round = 1 ] && [ $v = main ] && chk="--save /tmp/ab$d"
      PYTHONPATH=$site timeout 100 $S --layouts nhd hnd --dim $d --rows 8x4096 32x4096 64x4096 --label $v $chk >> "$O/ab-d$d.txt" 2>&1
    done
  done
  echo "== head dim $d ($SECONDS s)"
  python3 scripts/ab_verdict.py "$O/ab-d$d.txt" --baseline main --candidates cand --floor 0.97 --gain 1.01 | tee "$O/verdict-d$d.txt"
  head -1 "$O/verdict-d$d.txt" | grep -q "^suite" && won=1
done
# float16 and 1 x 4096 once each side.
for v in main cand; do
  site=/tmp/site; [ $v = main ] && site=/tmp/site-main
  PYTHONPATH=$site timeout 60 $S --layouts nhd --dim 96 --dtype float16 --rows 1x4096 32x4096 --label "$v" >> "$O/ab-f16.txt" 2>&1
done
grep -h "TB/s" "$O/ab-f16.txt"
echo "== fp8 ring depth ($SECONDS s)"
for t in none stages=4 stages=5; do
  tune=$t; [ $t = none ] && tune=
  for page in 16 32 64; do
    PAL_DECODE_TUNING=$tune PYTHONPATH=/tmp/site-main timeout 60 $S --layouts pal --kv-dtype float8_e4m3fn --page $page \
      --rows 8x4096 32x4096 64x4096 --label "p$page-$t" >> "$O/fp8-stages.txt" 2>&1
  done
  PAL_DECODE_TUNING=$tune PYTHONPATH=/tmp/site-main timeout 60 $S --layouts nhd --kv-dtype float8_e4m3fn --page 32 \
    --rows 8x4096 32x4096 64x4096 --label "nhd-p32-$t" >> "$O/fp8-stages.txt" 2>&1
done
grep -E "TB/s|rror" "$O/fp8-stages.txt" | sed 's/hq32.hkv8 //'
echo "== memcheck from $SECONDS s (won=$won)"
[ $won = 1 ] && bash scripts/kernel_suite.sh crates/pal-core/kernels $((590 - SECONDS)) memcheck
echo "call done $SECONDS s"
