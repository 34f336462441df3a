#!/usr/bin/env bash
# Sets everything up, then runs every check and test: formatting and lints, cargo tests
# (unit, property, integration, doc, examples) and the pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
ruff check python tests benchmarks
ruff format --check python tests benchmarks
cargo test --workspace
cargo run -q --release -p pal-core --example fill_and_decode
python -m pytest -q tests "$@"
