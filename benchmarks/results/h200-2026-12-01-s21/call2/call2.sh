#!/bin/bash
# Twenty-first session, call 2: the Hopper prefill with K of tile j + 1 and V of tile j in one
# slot (AHEAD, kv_b/ahead = the wheel's kernels) against main's kernels (kv_b/mainK), A/B/A/B,
# FA3 beside; stages=2 with AHEAD; D 64 and pages 1 / 64; then the whole suite if it wins.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
PAL_KERNEL_DIR=kv_b/ahead timeout 60 python3 scripts/prefill_sweep.py --rows 16x1024+0 1x128+300 3x700+50 --label guard 2>&1 | tee -a "$O/ab.txt"
[ ${PIPESTATUS[0]} = 0 ] || { echo guard failed; exit 1; }
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
PAL_KERNEL_DIR=kv_b/mainK timeout 200 $S --label main --save /tmp/pm --flashinfer fa3 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/ahead timeout 60 $S --label ahead --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/mainK timeout 60 $S --label main --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/ahead timeout 60 $S --label ahead --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/ahead PAL_PREFILL_TUNING=stages=2 timeout 60 $S --label ahead-s2 --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
F="python3 scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192"
for opt in "--dim 64" "--page 1" "--page 64"; do
  tag=$(echo $opt | tr -d ' -')
  PAL_KERNEL_DIR=kv_b/mainK timeout 60 $F $opt --label main --save /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
  PAL_KERNEL_DIR=kv_b/ahead timeout 60 $F $opt --label ahead --compare /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
done
python3 - "$O/ab.txt" > "$O/choice.txt" <<'PY'
import collections, re, sys
rate, bad = collections.defaultdict(list), False
for line in open(sys.argv[1]):
    m = re.match(r"(main|ahead|ahead-s2) +(\w+) D\d+ p\d+ (\S+) .*? ([\d.]+) TFLOP/s", line)
    if m:
        rate[(m.group(1), m.group(2), m.group(3))].append(float(m.group(4)))
        bad |= m.group(1) != "main" and "same bits" not in line
for label in ("ahead", "ahead-s2"):
    ratio = {k[1:]: max(rate[k]) / max(rate[("main",) + k[1:]]) for k in rate if k[0] == label}
    r = list(ratio.values())
    win = not bad and r and min(r) >= 0.98 and sum(r) / len(r) > 1.005
    print("suite" if win else "stop", label, {f"{a} {b}": round(v, 3) for (a, b), v in ratio.items()}, "bits differ" if bad else "")
PY
cat "$O/choice.txt"; echo "($SECONDS s)"
[ "$(head -1 "$O/choice.txt" | cut -d' ' -f1)" = suite ] || exit 0
timeout 330 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -8 "$O/suite.txt"
