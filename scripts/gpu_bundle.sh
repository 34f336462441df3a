#!/usr/bin/env bash
# Builds what the GPU machine needs (it has no Rust and no network) into gpu-bundle/: PAL's abi3
# wheel, the Rust example `cuda_decode`, the wheels of test tools it may lack, and FlashInfer 0.5.3 with its light dependencies
# (the benchmark's reference peer; it compiles its kernels there with nvcc). Carry gpu-bundle/
# there and run scripts/gpu_suite.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
rm -rf gpu-bundle && mkdir -p gpu-bundle
maturin build --release -q --out gpu-bundle
# The Rust API on caller-owned device buffers and a caller-owned stream, as a binary.
cargo build -q --release -p pal-core --example cuda_decode
cp target/release/examples/cuda_decode gpu-bundle/
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d gpu-bundle pytest pluggy iniconfig ml_dtypes tqdm \
  flashinfer-python==0.5.3 "apache-tvm-ffi>=0.1,<0.2" einops click tabulate nvidia-ml-py "nvidia-cudnn-frontend>=1.13"
ls -la gpu-bundle
