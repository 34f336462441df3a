# call 6: bash benchmarks/prepared/next_calls.sh alibi-ab 128 "mainK org both", with main's bundle (the part as it ran; its helpers in next_calls.sh) (the patches, from benchmarks/prepared/ then, are beside call5 / call6 now)
alibi-ab)  # alibi-ab [DIMS [FOLDERS]] (about 5 min whole): ALiBi's two prepared levers against main, alone and together, two rounds
  variant mainK
  variant rev prefill-mma-alibi-reverse.patch
  variant org prefill-mma-alibi-origin.patch
  variant both prefill-mma-alibi-origin.patch prefill-mma-alibi-reverse.patch
  export PAL_PREFILL_PATH=portable
  for dim in ${2:-128 64 256}; do
    # shellcheck disable=SC2086
    ROUNDS=2 bash scripts/ab_rounds.sh "$O/alibi-d$dim.txt" "python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal \
      --rows 4x4096+0 4x1024+8192 --variant alibi" ${3:-mainK rev org both} | tail -4
    echo "d$dim ($SECONDS s)"
    [ $SECONDS -gt 400 ] && break
  done ;;
