# The part `ab69` of benchmarks/prepared/next_calls.sh at 7bfb685 (call 1 ran `bash benchmarks/prepared/next_calls.sh ab69`;
# its patches lg2 and ts are removed since: see the README beside).
ab69)  # (each step's output straight under $O: a call cut short keeps what ran)
  export PAL_PREFILL_PATH=portable
  variant mainK; variant lg2 prefill-mma-logit2.patch; variant lgc prefill-mma-logit2-capfold.patch
  variant ts prefill-mma-d64-tensor-sums.patch
  rows="--rows 4x4096+0 4x1024+8192"
  for round in 1 2; do
    PAL_KERNEL_DIR=kv_b/mainK python3 scripts/prefill_sweep.py --dim 256 --layouts nhd pal $rows --label plain \
      2>&1 | tee -a "$O/ab69_plain.txt" | grep TFLOP
    ROUNDS=1 bash scripts/ab_rounds.sh "$O/ab69_softcap.txt" "python3 scripts/prefill_sweep.py --dim 256 \
      --layouts nhd pal $rows --variant softcap=30" mainK lg2 lgc | tail -3
    [ "$round" = 1 ] && ROUNDS=2 bash scripts/ab_rounds.sh "$O/ab69_d64.txt" "python3 scripts/prefill_sweep.py --dim 64 \
      --layouts nhd pal --rows 4x4096+0 16x1024+0 4x1024+8192 8x512+4096" mainK ts | tail -4
    ROUNDS=1 bash scripts/ab_rounds.sh "$O/ab69_alibi.txt" "python3 scripts/prefill_sweep.py --dim 256 \
      --layouts nhd pal $rows --variant alibi" mainK lg2 lgc | tail -3
  done
  # (each ab_rounds verdict reads its whole file: the last one covers both rounds)
  tail -n 12 "$O"/ab69_*.verdict; echo "done ($SECONDS s)" ;;
variants-wide)
