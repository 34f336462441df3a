#!/usr/bin/env bash
# Sets everything up, then runs PAL's main job: the Rust fill-and-decode example, then the
# benchmark sweep on whatever device is present (the CPU here), which checks every
# implementation's numerics before timing and prints a table. Extra arguments go to the sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
cargo run -q --release -p pal-core --example fill_and_decode
python -m proxy_attention_lab.bench "$@"
