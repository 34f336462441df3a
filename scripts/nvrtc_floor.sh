#!/usr/bin/env bash
# The oldest NVRTC PAL supports (13.0: CUDA 13.0 toolkits, and what the GPU machines load)
# compiles the first kernel key of each entry file. The compile check proper (cargo test) runs
# on the wheel's newest NVRTC, which once accepted a construct 13.0 rejects (__builtin_offsetof):
# every kernel then failed to compile on the GPU while CI passed.
set -euo pipefail
cd "$(dirname "$0")/.."
floor=.venv/nvrtc-13.0
lib=$floor/nvidia/cu13/lib
[ -f "$lib/libnvrtc.so.13" ] || python -m pip install -q --no-deps --target "$floor" "nvidia-cuda-nvrtc==13.0.*"
export LD_LIBRARY_PATH="$PWD/$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"  # (its builtins library)
keys=$(mktemp)
cargo run -q --release -p pal-core --example kernel_keys > "$keys"
python - "$keys" "$lib" <<'PY'
import json, os, pathlib, sys
sys.path.insert(0, "scripts")
os.environ["PAL_NVRTC"] = str(pathlib.Path(sys.argv[2]) / "libnvrtc.so.13")
import kernel_report

firsts = {}
for line in open(sys.argv[1]):
    key = json.loads(line)
    firsts.setdefault(key["entry"], key)
failed = 0
for entry, key in sorted(firsts.items()):
    _, _, log = kernel_report.compile_cubin(entry, key["defines"], key["arch"] or "sm_80", kernel_report.KERNELS)
    ok = "error" not in log
    failed += not ok
    print(f"NVRTC 13.0 {'compiles' if ok else 'FAILS'} {key['name']}")
    if not ok:
        print(log)
sys.exit(1 if failed else 0)
PY
