# call 3 (two calls back to back): abi (prefill-mma-alibi-in-s.patch) with the new host rule's bundle
. scripts/gpu_env.sh >/dev/null 2>&1; rm -rf kv_b/abi2 && mkdir -p kv_b/abi2 && cp -r crates/pal-core/kernels/. kv_b/abi2 && git apply --directory=kv_b/abi2 -p4 benchmarks/prepared/prefill-mma-alibi-in-s.patch && echo applied; export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/kv_b/abi2
timeout 270 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "prefill and alibi" > $O/abi_memcheck.txt 2>&1 &
timeout 270 python3 -m pytest -q -p no:cacheprovider -n 14 tests -k "alibi or variant" > $O/abi_tests.txt 2>&1; echo "tests rc $?"; wait
# then, in the next call:
timeout 170 python3 -m pytest -q -p no:cacheprovider -n 14 tests -k "prefill and not (alibi or variant)" > $O/abi_prefill.txt 2>&1
