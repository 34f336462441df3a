# Session 36, call 5 (warm machine after call 4, whose suite's time limit cut its memcheck after
# the Rust example): memcheck over scripts/gpu_memcheck.py (with its new TF32 block) and three of
# the new test's cases.
. scripts/gpu_env.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site
(time timeout 400 compute-sanitizer --tool memcheck --error-exitcode 9 python3 scripts/gpu_memcheck.py) 2>&1 | tail -5
timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "large_groups_on_tensor and (16-pal or 1-nhd or 2-hnd)" 2>&1 | tail -3
