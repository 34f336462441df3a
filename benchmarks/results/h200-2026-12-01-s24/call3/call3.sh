#!/bin/bash
# Twenty-fourth session, call 3, on a wheel of main plus prefill-hopper-tma-history.patch (its
# default, TMA 1, is main's kernel: SASS identical): (1) the Hopper prefill's nhd / hnd history
# tiles by tensor copies (`tma=2`) A/B/A/B against main's cp.async (`tma=1`), same bits asked;
# (2) if it wins, the whole suite and memcheck with `tma=2`; (3) decode MQA with a faster
# cross-warp merge (kv_b/mq) A/B against main's kernels; (4) the prefill beside FA3 over
# issue 13's rows at page 16 and the history rows at pages 1 to 128 (main's kernels).
. scripts/gpu_env.sh || exit 1
ab() {  # ab OUT ROUNDS SWEEP...
  local out=$1 rounds=$2; shift 2
  for round in $(seq "$rounds"); do
    for v in 1 2; do
      if [ "$round" = 1 ] && [ $v = 1 ]; then check="--save /tmp/th_$out"; else check="--compare /tmp/th_$out"; fi
      PAL_PREFILL_TUNING=tma=$v timeout 120 "$@" --label tma$v $check 2>&1 | tee -a "$O/$out.txt"
    done
  done
  python3 scripts/ab_verdict.py "$O/$out.txt" --baseline tma1 --candidates tma2 | tee "$O/$out.txt.verdict"
}
ab th16 2 python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 4x2048+8192 1x512+32768 --layouts nhd hnd
for page in 8 32 128; do
  ab th$page 1 python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts nhd hnd --page $page
done
echo "th done ($SECONDS s)"
if head -1 "$O/th16.txt.verdict" | grep -q "^suite tma2"; then
  PAL_PREFILL_TUNING=tma=2 timeout 360 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
  echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -6 "$O/suite.txt"
fi
if [ -d kv_b/mq ]; then
  bash scripts/ab_rounds.sh "$O/mq.txt" "python3 scripts/decode_sweep.py --heads 32/1 --rows 1x4096 2x4096 4x4096 8x4096 32x4096 --layouts nhd pal" mainK mq
  ROUNDS=1 bash scripts/ab_rounds.sh "$O/mq_gqa.txt" "python3 scripts/decode_sweep.py --rows 1x4096 8x4096 1x32768 --layouts nhd pal" mainK mq
  [ $SECONDS -lt 480 ] && timeout 60 python3 scripts/decode_sweep.py --heads 32/1 --rows 1x4096 4x4096 32x4096 --layouts nhd \
    --flashinfer --label main 2>&1 | tail -6 | tee "$O/mq_fi.txt"
fi
[ $SECONDS -lt 500 ] && timeout 80 python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 4x2048+8192 \
  --flashinfer fa3 --label main 2>&1 | tee "$O/prefill_p16.txt"
for page in 1 128 4 32 2 8 64; do
  [ $SECONDS -lt 530 ] || break
  timeout 50 python3 scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192 8x512+4096 --page $page \
    --flashinfer fa3 --label main 2>&1 | tee -a "$O/prefill_pages.txt"
done
echo "end ($SECONDS s)"
