#!/usr/bin/env bash
# Creates .venv with what PAL needs to build, test and benchmark, and builds PAL into it
# (release mode). Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
maturin develop --release -q
