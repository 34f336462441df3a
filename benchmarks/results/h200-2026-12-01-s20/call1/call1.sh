#!/bin/bash
# A first GPU call for the next session (written in the nineteenth): the Hopper prefill's
# producer claims its next item CLAIM_TILES tiles before its item's last
# (prefill-hopper-claim-tiles.patch; see README.md) instead of after its copies, run through
# PAL_KERNEL_DIR on main's wheel (no rebuild): A/B/A/B against main's kernels, FlashInfer's FA3
# path beside once; then the whole suite and memcheck, with the patched kernels if they are as
# fast or faster everywhere with the same bits (landing is then `git apply` of the same sources),
# else with main's (the suite also validates 9bbbf2a's host refactor).
# `run` with carry ["gpu-bundle", "kv_b"] after `bash scripts/gpu_bundle.sh` (main's wheel;
# kv_b/fi_cache.tgz holds FlashInfer's JIT cache if an earlier session left it):
# bash benchmarks/prepared/next_call.sh (about 8 device minutes).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
K=/tmp/ckernels; rm -rf $K; mkdir -p $K && cp -r crates/pal-core/kernels/. $K
patch -s -p4 -d $K < benchmarks/prepared/prefill-hopper-claim-tiles.patch || exit 1
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768 1x128+32768"
timeout 200 $S --label main --save /tmp/pm --flashinfer fa3 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=$K timeout 60 $S --label tiles --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
timeout 60 $S --label main --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=$K timeout 60 $S --label tiles --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
python3 - "$O/ab.txt" > "$O/choice.txt" <<'PY'
import collections, re, sys
rate, bad = collections.defaultdict(list), False
for line in open(sys.argv[1]):
    m = re.match(r"(main|tiles) +(\w+) D\d+ p\d+ (\S+) .*? ([\d.]+) TFLOP/s", line)
    if m:
        rate[(m.group(1), m.group(2), m.group(3))].append(float(m.group(4)))
        bad |= m.group(1) == "tiles" and "same bits" not in line
ratio = [max(rate[k]) / max(rate[("main",) + k[1:]]) for k in rate if k[0] == "tiles"]
win = not bad and ratio and min(ratio) >= 0.98 and sum(ratio) / len(ratio) > 1.005
print("suite" if win else "stop", [round(r, 3) for r in ratio], "bits differ" if bad else "")
PY
cat "$O/choice.txt"
# The whole suite either way: main's wheel carries 9bbbf2a (the merge launcher shared by decode
# and prefill, a host refactor that no GPU has run yet); with the patched kernels if they won.
[ "$(cut -d' ' -f1 "$O/choice.txt")" = suite ] && export PAL_KERNEL_DIR=$K
echo "suite with kernels from ${PAL_KERNEL_DIR:-the wheel} ($SECONDS s)"
timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"
