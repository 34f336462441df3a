#!/bin/bash
# A first GPU call for the next session (written in the seventeenth): the prepared copies of
# 16-bit pal pages of 2 slots (decode-pal-page2-quarters.patch; see README.md), run through
# PAL_KERNEL_DIR on main's wheel, so no rebuild: the A/B against main's kernels (bits
# compared) at head dims 64 / 128 / 256, then, if it is as fast or faster everywhere and
# bit-equal, the whole suite and memcheck with the patched kernels (landing is then `git
# apply` of the same sources). Between them, the decode stamps of 8 / 32 x 4096, fp8 and
# bf16 (decode-stamps.patch). `run` with carry ["gpu-bundle", "kv_b"] after `bash
# scripts/gpu_bundle.sh` (main's wheel): bash benchmarks/prepared/next_call.sh (about 8
# device minutes).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
K=/tmp/p2kernels; rm -rf $K; mkdir -p $K && cp -r crates/pal-core/kernels/. $K
patch -s -p4 -d $K < benchmarks/prepared/decode-pal-page2-quarters.patch || exit 1
for cfg in "128 bfloat16" "64 float16" "256 bfloat16"; do
  set -- $cfg
  D="python3 scripts/decode_sweep.py --layouts pal --page 2 --dim $1 --dtype $2 --rows 8x4096 32x4096 64x4096 1x32768"
  timeout 60 $D --label main-d$1 --save /tmp/ab$1 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  PAL_KERNEL_DIR=$K timeout 60 $D --label quarters-d$1 --compare /tmp/ab$1 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
# Where small fp8 and bf16 decodes spend their time (decode-stamps.patch, 16-slot pages).
S=/tmp/stampkernels; rm -rf $S; mkdir -p $S && cp -r crates/pal-core/kernels/. $S
if patch -s -p4 -d $S < benchmarks/prepared/decode-stamps.patch; then
  PAL_KERNEL_DIR=$S timeout 60 python3 benchmarks/prepared/decode_stamps.py --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn > "$O/stamps.txt" 2>&1
  PAL_KERNEL_DIR=$S timeout 60 python3 benchmarks/prepared/decode_stamps.py --rows 8x4096 32x4096 >> "$O/stamps.txt" 2>&1
fi
python3 - "$O/ab.txt" > "$O/choice.txt" <<'PY'
import re, sys
rate, bad = {}, False
for line in open(sys.argv[1]):
    m = re.match(r"(\w+)-d(\d+) pal (\S+) .*?kernel [\d.]+ us ([\d.]+) TB/s", line)
    if m:
        rate[(m.group(1), m.group(2), m.group(3))] = float(m.group(4))
        bad |= m.group(1) == "quarters" and "same bits" not in line
ratio = [rate[k] / rate[("main",) + k[1:]] for k in rate if k[0] == "quarters" and ("main",) + k[1:] in rate]
win = not bad and ratio and min(ratio) >= 0.99 and sum(ratio) / len(ratio) > 1.01
print("suite" if win else "stop", [round(r, 3) for r in ratio], "bits differ" if bad else "")
PY
cat "$O/choice.txt" | tee -a "$O/ab.txt"
[ "$(cut -d' ' -f1 "$O/choice.txt")" = suite ] || exit 0
echo "suite with PAL_KERNEL_DIR=$K ($SECONDS s)" | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=$K timeout 430 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"
