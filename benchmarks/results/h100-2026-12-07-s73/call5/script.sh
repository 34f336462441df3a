# call 5: bash benchmarks/prepared/next_calls.sh reverse, with main's bundle (the part as it ran; its helpers in next_calls.sh)
reverse)  # prefill-mma-alibi-reverse.patch (ALiBi's tiles from the last) against main, then its ALiBi tests
  variant mainK
  variant rev prefill-mma-alibi-reverse.patch  # (now beside this script)
  export PAL_PREFILL_PATH=portable
  for dim in 128 64 256; do
    ROUNDS=2 bash scripts/ab_rounds.sh "$O/rev-d$dim.txt" "python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal \
      --rows 4x4096+0 4x1024+8192 --variant alibi" mainK rev | tail -2
    echo "d$dim ($SECONDS s)"
    [ $SECONDS -gt 170 ] && break
  done
  export PAL_KERNEL_DIR=$PWD/kv_b/rev
  timeout 170 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider \
    tests/test_cuda.py -k "prefill and alibi" > "$O/rev_memcheck.txt" 2>&1 &
  timeout 170 python3 -m pytest -q -p no:cacheprovider -n 12 tests -k "prefill and (alibi or variant)" > "$O/rev_tests.txt" 2>&1
  wait
  for f in "$O"/rev_tests.txt "$O"/rev_memcheck.txt; do echo "$f"; tail -2 "$f"; grep -E "^FAILED" "$f" | head -5; done ;;
