#!/bin/bash
# Twenty-fourth session, call 4 (call 3's wheel; call 3's page 8 / 16 / 32 verdicts did not come
# back: at most eight files do): the history tiles by tensor copies (`tma=2`) against main's
# cp.async (`tma=1`) again, then the decode merge variant (kv_b/mq) on GQA rows, two rounds.
. scripts/gpu_env.sh || exit 1
ab() {  # ab NAME ROUNDS SWEEP...
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
ab th8 1 python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts nhd hnd --page 8
ab th32 1 python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts nhd hnd --page 32
[ $SECONDS -lt 200 ] && bash scripts/ab_rounds.sh "$O/mq_gqa.txt" "python3 scripts/decode_sweep.py --rows 1x4096 8x4096 1x32768 --layouts nhd pal" mainK mq
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(cat "$f" | tr '\n' ' ')"; done
echo "end ($SECONDS s)"
