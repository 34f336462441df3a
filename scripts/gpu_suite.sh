#!/usr/bin/env bash
# Runs PAL on a CUDA machine from a bundle built elsewhere (the GPU machine has Python and torch
# but no Rust and no network): the Rust example on caller-owned device buffers (under memcheck),
# the whole pytest suite with compute-sanitizer memcheck beside it (its three workloads at once:
# the bad-input workload, the CUDA and the fp8 tests that feed bad page tables; one GPU holds them
# all; in series memcheck took 520 s after the suite's 450 s on an H200, 2026-12-03; the next
# session's pytest alone 342 s on 14 workers, memcheck's three at once 268 s), then the
# default GPU benchmark sweep with every peer in the bundle (FlashInfer included).
# PAL_SUITE_SERIAL=1 runs memcheck after the suite instead; `pytest` and `memcheck` run one half
# each (for two calls when both do not fit one call's limit).
# Usage: bash scripts/gpu_suite.sh BUNDLE_DIR OUT_DIR [all|tests|pytest|memcheck|bench]
# (bundle: scripts/gpu_bundle.sh)
set -uo pipefail
bundle=${1:-gpu-bundle}
out=${2:-gpu-results}
what=${3:-all}
mkdir -p "$out"
# The whole pytest suite, spread over workers where pytest-xdist is installed (they share the
# on-disk kernel cache and take turns compiling a module: `CompileClaim` in cuda/jit.rs), its
# slowest tests, and what its kernel compiles took (PAL_COMPILE_LOG: a line per compile).
# The random problems draw 32 cases an op that change with the day (UTC), so each session's
# suite meets combinations no earlier suite met at no extra cost; the range is printed, and a
# failure reproduces with PAL_RANDOM_PROBLEMS set to it (set beforehand, it is kept).
run_pytest() {
  local parallel day random
  parallel=$(python3 -c 'import xdist' 2>/dev/null && echo "-n ${PAL_SUITE_WORKERS:-14}")
  day=$((10#$(date -u +%j)))
  random=${PAL_RANDOM_PROBLEMS:-$((day * 32)):$((day * 32 + 32))}
  echo "random problems: PAL_RANDOM_PROBLEMS=$random"
  # shellcheck disable=SC2086
  PAL_RANDOM_PROBLEMS=$random PAL_COMPILE_LOG="$1/compiles.log" python3 -m pytest -q -rs -p no:cacheprovider --durations=25 $parallel tests \
    > "$1/pytest.log" 2>&1
  tail -n 70 "$1/pytest.log"
  if [ -f "$1/compiles.log" ]; then
    awk -F'\t' '{n++; s+=$2; c[$1]++} END {for (k in c) if (c[k] > 1) d+=c[k]-1;
      printf "kernel compiles: %d, %.0f s in all, %d of them repeats of a module\n", n, s, d}' "$1/compiles.log"
  fi
}

# A command under compute-sanitizer memcheck: exit status 9 on any error it finds.
sanitized() { compute-sanitizer --tool memcheck --error-exitcode 9 "$@"; }

# compute-sanitizer memcheck over the bad-input workload, the CUDA / fp8 tests that feed bad
# tables and a few random problems, the four at once (a log each, then memcheck.log); fails if
# any reports an error.
memcheck() {
  local dir=$1 rc=0 pids=()
  sanitized python3 scripts/gpu_memcheck.py > "$dir/memcheck-workload.log" 2>&1 &
  pids+=($!)
  sanitized python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_variants.py \
    -k "(soft_caps_near and cuda and not 66) or two_streams or splits or bad_page or next_call or ragged or fill_then or mixed_devices or prefill_bad or 128-16- or 256-16- or 64-1- or 128-8- or 128-4- or 128-2- or (prefill_matches and 128) or large_pages or (several_kv_heads and (96 or 64))" \
    > "$dir/memcheck-cuda.log" 2>&1 &
  pids+=($!)
  sanitized python3 -m pytest -q -p no:cacheprovider tests/test_fp8.py \
    -k "cuda and ((long and (128-16 or 128-4 or 256)) or (small_pages_over and e4m3) or splits or (pal_large_pages and e4m3))" > "$dir/memcheck-fp8.log" 2>&1 &
  pids+=($!)
  # Random problems (NaN in every unread slot, garbage past each row's pages, shared prefix pages).
  PAL_RANDOM_PROBLEMS=${PAL_MEMCHECK_RANDOM:-8} sanitized python3 -m pytest -q -p no:cacheprovider tests/test_random_problems.py \
    -k cuda > "$dir/memcheck-random.log" 2>&1 &
  pids+=($!)
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  cat "$dir"/memcheck-{workload,cuda,fp8,random}.log > "$dir/memcheck.log"
  rm -f "$dir"/memcheck-{workload,cuda,fp8,random}.log
  return $rc
}

python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$bundle"/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
status=0
case $what in all | tests | memcheck)
  # NVRTC for the Rust binary: the toolkit's and torch's wheel copy.
  nvrtc_dirs=$(python3 -c 'import nvidia, pathlib; print(":".join(str(pathlib.Path(d) / "cu13" / "lib") for d in nvidia.__path__))')
  LD_LIBRARY_PATH="/usr/local/cuda/lib64:$nvrtc_dirs:${LD_LIBRARY_PATH:-}" \
    sanitized "$bundle/cuda_decode" 2>&1 | tee "$out/rust_example.log" | tail -2 || status=1 ;;
esac
case $what in
  all | tests)
    if [ "${PAL_SUITE_SERIAL:-0}" = 1 ]; then
      run_pytest "$out"
      memcheck "$out" || status=1
    else
      memcheck "$out" &
      checker=$!
      run_pytest "$out"
      wait "$checker" || status=1
    fi ;;
  pytest) run_pytest "$out" ;;
  memcheck) memcheck "$out" || status=1 ;;
esac
case $what in all | tests | pytest)
  grep -qE "[0-9]+ passed" "$out/pytest.log" && ! grep -qE "[0-9]+ (failed|error)" "$out/pytest.log" || status=1 ;;
esac
[ -f "$out/memcheck.log" ] && grep -E "ERROR SUMMARY|passed|failed" "$out/memcheck.log"
if [ "$what" = all ] || [ "$what" = bench ]; then
  python3 -m proxy_attention_lab.bench --out "$out" > "$out/bench.log" 2>&1 || status=1
  grep -vE "mlx_sdpa" "$out/bench.log" | tail -n 45
fi
exit $status
