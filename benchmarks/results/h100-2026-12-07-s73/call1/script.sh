# call 1: bash benchmarks/prepared/next_calls.sh combo, after `rm -rf gpu-bundle; mv gpu-bundle-bounded gpu-bundle` (the part as it ran; its helpers in next_calls.sh)
combo)  # combo: abi + bounded kernels, bounded's host (its bundle moved to gpu-bundle): bounded's A/B, then the
  # variants at D 96 / 112 / 80 on 64-key tiles against their 32-key default (bounded off, so main's soft-cap)
  git apply -p1 benchmarks/prepared/prefill-mma-alibi-in-s.patch || exit 1
  git apply -p1 benchmarks/prepared/prefill-mma-bounded.patch || exit 1
  export PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
  tuned_sweeps "$O/bounded.txt" 200 "128 64 256" "softcap=30 plain" "bounded=0 default"
  tuned_sweeps "$O/bounded.txt" 230 "128 64 256" "softcap=30" "bounded=0 default"
  python3 scripts/ab_verdict.py "$O/bounded.txt" --baseline bounded0 --candidates default | tee "$O/bounded_verdicts.txt"
  tuned_sweeps "$O/mid.txt" 530 "96 112 80" "softcap=30 alibi window=1024" "bounded=0 bounded=0,keys=64"
  python3 scripts/ab_verdict.py "$O/mid.txt" --baseline bounded0 --candidates bounded0keys64 | tee "$O/mid_verdicts.txt" ;;
