# call 4: bash benchmarks/prepared/next_calls.sh alibi-ncu, with call 2's bundle (the part as it ran; its helpers in next_calls.sh)
alibi-ncu)  # where ALiBi's 12-16% over plain attention goes at D 128 (nhd), and D 96's tiles again
  export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
  for v in plain alibi softcap=30; do
    timeout 120 python3 scripts/ncu_report.py prefill --layout nhd --dim 128 --row 4x4096+0 --variant "$v" \
      --out "/tmp/ncu-$v" > "$O/ncu-$v.txt" 2>&1
    echo "ncu $v rc $? ($SECONDS s)"
    gzip -c "/tmp/ncu-$v/source.csv" > "$O/source-$v.csv.gz" 2>/dev/null
  done
  grep -E "Duration|Executed Instr|Registers|Local|stalls" "$O"/ncu-*.txt | head -40
  tuned_sweeps "$O/d96.txt" 450 "96" "softcap=30 alibi window=1024" "default keys=32"
  tuned_sweeps "$O/d96.txt" 500 "96" "softcap=30 alibi window=1024" "default keys=32"
  python3 scripts/ab_verdict.py "$O/d96.txt" --baseline keys32 --candidates default | tee "$O/d96_verdicts.txt" ;;
