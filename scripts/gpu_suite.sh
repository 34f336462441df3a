#!/usr/bin/env bash
# Runs PAL's whole test suite on a CUDA machine from a wheel built elsewhere (the GPU machine
# has Python and torch but no Rust), then the memcheck workload under compute-sanitizer, then
# the default GPU benchmark sweep. Usage: bash scripts/gpu_suite.sh BUNDLE_DIR OUT_DIR
# (BUNDLE_DIR from scripts/gpu_bundle.sh).
set -uo pipefail
bundle=${1:-gpu-bundle}
out=${2:-gpu-results}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$bundle"/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
status=0
python3 -m pytest -q -p no:cacheprovider tests 2>&1 | tee "$out/pytest.log" | tail -30 || status=1
grep -qE "[0-9]+ passed" "$out/pytest.log" && ! grep -qE "[0-9]+ (failed|error)" "$out/pytest.log" || status=1
compute-sanitizer --tool memcheck --error-exitcode 9 python3 scripts/gpu_memcheck.py 2>&1 | tee "$out/memcheck.log" | tail -5 || status=1
if [ "${PAL_GPU_BENCH:-1}" = 1 ]; then
  python3 -m proxy_attention_lab.bench --out "$out" 2>&1 | tee "$out/bench.log" | tail -40 || status=1
fi
exit $status
