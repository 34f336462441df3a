# call 2: bash benchmarks/prepared/next_calls.sh wide-rescale (the parts as they ran, from next_calls.sh at this session's start + wide-rescale)
wide-rescale)  # (about 9 min, where machines are scarce) one round of variants-wide's timing, then of rescale's
  variant wide
  for dim in 128 64; do
    for v in plain softcap=30 alibi window=1024; do
      for tuning in default keys=64; do
        PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/kv_b/wide PAL_PREFILL_TUNING=$([ $tuning = default ] || echo $tuning) \
          timeout 60 python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal --rows 4x4096+0 4x1024+8192 \
          --variant $v --label "$(echo $tuning | tr -d =, )" >> "$O/wide.txt" 2>&1
      done
    done
    echo "d$dim ($SECONDS s)"
  done
  python3 scripts/ab_verdict.py "$O/wide.txt" --baseline default --candidates keys64 | tee "$O/wide_verdicts.txt"
  ROUNDS=1 STOP=$((500 - SECONDS)) bash "$0" rescale ;;
rescale)  # (about 6 min) main, lazy, abi and both, two rounds, 64-key tiles; one file, rescale.txt
  export PAL_PREFILL_PATH=portable PAL_PREFILL_TUNING=keys=64
  variant mainK
  variant lazy prefill-mma-lazy-rescale.patch
  variant abi prefill-mma-alibi-in-s.patch
  variant both prefill-mma-alibi-in-s.patch prefill-mma-lazy-rescale.patch
  for dim in 128 256; do
    for v in alibi plain softcap=30; do
      # (one file: the verdict, over the whole of it, keys each row by its variant and head dim)
      ROUNDS=${ROUNDS:-2} bash scripts/ab_rounds.sh "$O/rescale.txt" "python3 scripts/prefill_sweep.py --dim $dim \
        --layouts nhd pal --rows 4x4096+0 4x1024+8192 --variant $v" mainK lazy abi both | tail -3
      [ $SECONDS -gt "${STOP:-480}" ] && break 2
    done
  done
  echo "done ($SECONDS s)" ;;
