# Call 2 (the bundle: gpu-bundle-bounded/, main's bundle with the wheel and the Rust example rebuilt
# from main + prefill-mma-bounded.patch with the 64-key rule at every head dim up to 128, copied
# over it from gpu-bundle-w/; the kernels: main's with both patches applied)
rm -rf gpu-bundle; mv gpu-bundle-bounded gpu-bundle; cp gpu-bundle-w/* gpu-bundle/ || exit 1
for p in prefill-mma-alibi-in-s prefill-mma-bounded; do
  git apply -p1 -R --check benchmarks/prepared/$p.patch 2>/dev/null || git apply -p1 benchmarks/prepared/$p.patch || exit 1
done
mkdir -p kv_b; bash benchmarks/prepared/next_calls.sh suite 2>&1 | tail -30
