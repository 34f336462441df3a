# The seventieth session's call 2, as typed (after `. scripts/gpu_env.sh`): lgc's prefill tests on
# the portable path and memcheck of the variant cases beside them.
source <(sed -n '/^variant() {/,/^}/p' benchmarks/prepared/next_calls.sh); variant lgc prefill-mma-logit2-capfold.patch
export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/kv_b/lgc
timeout 300 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
  -k "variants_between or swizzled_rows_with_variants" > $O/lgc_memcheck.txt 2>&1 &
PAL_RANDOM_PROBLEMS=160 timeout 300 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_variants.py \
  tests/test_random_problems.py -k "prefill" > $O/lgc_tests.txt 2>&1
echo "tests rc $?"; wait; echo "memcheck rc $?"
