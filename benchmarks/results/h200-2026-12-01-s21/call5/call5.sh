#!/bin/bash
# Twenty-first session, call 5: the portable prefill with swizzled unpadded Q / K / V rows
# (kv_b/swz) against main's kernels (kv_b/mainK), A/B/A/B, FA2 beside; then, if it wins with
# the same bits, the portable prefill tests on it.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site PAL_PREFILL_PATH=portable
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
PAL_KERNEL_DIR=kv_b/mainK timeout 200 $S --label main --save /tmp/pm --flashinfer fa2 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/swz timeout 60 $S --label swz --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/mainK timeout 60 $S --label main --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/swz timeout 60 $S --label swz --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
for opt in "--dim 64" "--dim 256"; do
  tag=$(echo $opt | tr -d ' -')
  PAL_KERNEL_DIR=kv_b/mainK timeout 60 $S $opt --label main --save /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
  PAL_KERNEL_DIR=kv_b/swz timeout 60 $S $opt --label swz --compare /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
done
python3 - "$O/ab.txt" > "$O/choice.txt" <<'PY'
import collections, re, sys
rate, bad = collections.defaultdict(list), False
for line in open(sys.argv[1]):
    m = re.match(r"(main|swz) +(\w+) D\d+ p\d+ (\S+) .*? ([\d.]+) TFLOP/s", line)
    if m:
        rate[(m.group(1), m.group(2), m.group(3))].append(float(m.group(4)))
        bad |= m.group(1) != "main" and "same bits" not in line
ratio = {k[1:]: max(rate[k]) / max(rate[("main",) + k[1:]]) for k in rate if k[0] == "swz"}
r = list(ratio.values())
win = not bad and r and sum(r) / len(r) > 1.02
print("tests" if win else "stop", {f"{a} {b}": round(v, 3) for (a, b), v in ratio.items()}, "bits differ" if bad else "")
PY
cat "$O/choice.txt"; echo "($SECONDS s)"
[ "$(cut -d' ' -f1 "$O/choice.txt")" = tests ] || exit 0
PAL_KERNEL_DIR=kv_b/swz timeout 200 python3 -m pytest -q -x $(python3 -c "import xdist" 2>/dev/null && echo "-n 12") -p no:cacheprovider tests/test_cuda.py tests/test_variants.py tests/test_fp8.py -k "prefill and not cpu" 2>&1 | tail -4
echo "($SECONDS s)"
