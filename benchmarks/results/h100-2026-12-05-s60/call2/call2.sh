# 60th session, call 2 (H100 80GB HBM3, 2026-12-05), after pool_on_host's fix (the wheel rebuilt):
. scripts/gpu_env.sh >/dev/null 2>&1; export PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
PAL_RANDOM_PROBLEMS=0:200 timeout 100 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_random_problems.py -k "cuda and fill" > $O/random-fill.txt 2>&1
PAL_RANDOM_PROBLEMS=200:400 timeout 120 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_random_problems.py -k cuda > $O/random-more.txt 2>&1
timeout $((570 - SECONDS)) bash benchmarks/prepared/next_calls.sh knobs
