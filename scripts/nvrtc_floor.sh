#!/usr/bin/env bash
# The oldest NVRTCs PAL supports compile the first kernel key of each entry file, and its first
# at head dims 64 and 128 (whose forms differ: the portable prefill's task in shared memory), each
# for the GPU it was chosen for: 13.0 (CUDA 13.0 toolkits, and what the GPU machines load) and
# 12.4 (the NVRTC 12 fallback the README names). The compile check proper (cargo test) runs on
# the wheel's newest NVRTC, which once accepted a construct 13.0 rejects (__builtin_offsetof):
# every kernel then failed to compile on the GPU while CI passed.
set -euo pipefail
cd "$(dirname "$0")/.."
keys=$(mktemp)
cargo run -q --profile test --example kernel_keys > "$keys"  # (cargo test's build)
for floor in "13.0 nvidia-cuda-nvrtc==13.0.* cu13/lib/libnvrtc.so.13" \
  "12.4 nvidia-cuda-nvrtc-cu12==12.4.127 cuda_nvrtc/lib/libnvrtc.so.12"; do
  read -r version requirement library <<< "$floor"
  dir=.venv/nvrtc-$version
  [ -f "$dir/nvidia/$library" ] || python -m pip install -q --no-deps --target "$dir" "$requirement"
  # (its builtins library beside it)
  LD_LIBRARY_PATH="$PWD/$(dirname "$dir/nvidia/$library")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    PAL_NVRTC="$PWD/$dir/nvidia/$library" python - "$keys" "$version" <<'PY'
import json, sys
sys.path.insert(0, "scripts")
import kernel_report

firsts = {}
for line in open(sys.argv[1]):
    key = json.loads(line)
    firsts.setdefault(key["entry"], key)
    for dim in (64, 128):
        if f"PAL_HEAD_DIM={dim}" in key["defines"]:
            firsts.setdefault((key["entry"], dim), key)
failed = 0
for key in sorted({key["name"]: key for key in firsts.values()}.values(), key=lambda key: key["name"]):
    _, _, log = kernel_report.compile_cubin(key["entry"], key["defines"], key["arch"] or key["gpu"], kernel_report.KERNELS)
    ok = "error" not in log
    failed += not ok
    print(f"NVRTC {sys.argv[2]} {'compiles' if ok else 'FAILS'} {key['name']}")
    if not ok:
        print(log)
sys.exit(1 if failed else 0)
PY
done
