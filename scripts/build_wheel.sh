#!/usr/bin/env bash
# Builds PAL's abi3 wheel (one wheel for CPython 3.10+) with a portable manylinux_2_28 tag into
# dist/, then checks it installs and works in a clean virtual environment. maturin links
# through zig (the `ziglang` wheel from PyPI) against glibc 2.28, so no manylinux container is
# needed. The CUDA backend needs no toolkit at build time: NVRTC and the driver load at run time.
# Usage: bash scripts/build_wheel.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${1:-${PYTHON:-python3}}
tools=build/wheel-tools
[ -x "$tools/bin/maturin" ] || {
  "$PYTHON" -m venv "$tools"
  "$tools/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.7,<2" ziglang
}
rm -rf dist && mkdir -p dist
# zig is found as `python-zig` on PATH (installed by the ziglang wheel).
PATH="$PWD/$tools/bin:$PATH" maturin build --release --zig --compatibility manylinux_2_28 --out dist
wheel=$(ls dist/proxy_attention_lab-*-cp310-abi3-manylinux_2_28_x86_64.whl)
# The tag's promise: no glibc symbol newer than 2.28 in the native module.
"$PYTHON" - "$wheel" <<'PY'
import re, sys, zipfile

with zipfile.ZipFile(sys.argv[1]) as wheel:
    native = next(n for n in wheel.namelist() if n.endswith(".so"))
    versions = {tuple(map(int, v.split(b"."))) for v in re.findall(rb"GLIBC_(2\.[0-9]+)", wheel.read(native))}
newest = max(versions)
assert newest <= (2, 28), f"{native} needs glibc {newest}"
print(f"{native}: newest glibc symbol version {newest[0]}.{newest[1]}")
PY

# A clean environment: the wheel and its runtime dependencies only, run from outside the repo.
check=build/wheel-check
rm -rf "$check" && "$PYTHON" -m venv "$check"
"$check/bin/python" -m pip install -q --disable-pip-version-check "$wheel"
(cd /tmp && "$OLDPWD/$check/bin/python" - <<'PY'
import numpy as np
import proxy_attention_lab as pal

k = np.random.default_rng(0).standard_normal(pal.get_k_cache_shape(2, 1, 64, 16, "float32")).astype(np.float32)
v = np.ones(pal.get_v_cache_shape(2, 1, 64, 16, "float32"), np.float32)
q = np.ones((1, 2, 64), np.float32)
out = pal.paged_attention_decode(q, k, v, np.array([[1]], np.int32), np.array([5], np.int32))
assert out.shape == (1, 2, 64) and np.allclose(out, 1.0), out
print(f"proxy_attention_lab {pal.__version__} from {pal.__file__}: decode ok")
PY
)
echo "built $wheel"
