#!/usr/bin/env bash
# Sets everything up, then runs every check and test: formatting and lints, cargo tests
# (unit, property, integration, doc, the CUDA kernel compile check: each representative key for
# the GPU it was chosen for, and on the oldest NVRTCs: 13.0, 12.4), the Rust example and the
# pytest suite (CUDA tests skip without a GPU: scripts/gpu_suite.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
ruff check python tests scripts
ruff format --check python tests scripts
# The kernel compile check needs NVRTC: the one from the nvidia-cuda-nvrtc wheel, and a
# missing NVRTC fails the run instead of skipping the check.
nvrtc_dir=$(python -c 'import nvidia, pathlib; print(next(p for p in (pathlib.Path(d) / "cu13" / "lib" for d in nvidia.__path__) if p.exists()))')
LD_LIBRARY_PATH="$nvrtc_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" PAL_REQUIRE_NVRTC=1 cargo test --workspace
# ... and the oldest NVRTCs (13.0, 12.4) compile one key of each entry file.
bash scripts/nvrtc_floor.sh
# The CPU decode's AVX2 and AVX-512F in-place forms, which machines with AVX-512 BF16 (this
# one's kind) skip.
# (With --workspace and the test profile these reuse `cargo test --workspace`'s build: `-p
# pal-core` resolved its dependencies apart and rebuilt it, 106 s, and `--release` 40 s more.)
PAL_CPU_SIMD=avx2 cargo test -q --workspace --test decode
PAL_CPU_SIMD=avx512 cargo test -q --workspace --test decode
cargo run -q --profile test --example fill_and_decode
python -m pytest -q tests "$@"
