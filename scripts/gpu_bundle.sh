#!/usr/bin/env bash
# Builds what the GPU machine needs (it has no Rust and no network) into gpu-bundle/: PAL's abi3
# wheel plus the wheels of test tools it may lack. Carry gpu-bundle/ there and run
# scripts/gpu_suite.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
rm -rf gpu-bundle && mkdir -p gpu-bundle
maturin build --release -q --out gpu-bundle
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d gpu-bundle pytest pluggy iniconfig ml_dtypes tqdm
ls -la gpu-bundle
