#!/bin/bash
# Twenty-first session, call 7: the Hopper prefill's producer prefetches the next item's Q rows
# (kv_b/pfq), and a prompt first tile's K / V rows too (kv_b/pft), into L2 before waiting for
# the consumers to release Q; A/B/A/B against main's kernels (kv_b/mainK).
export PYTHONUNBUFFERED=1
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
PAL_KERNEL_DIR=kv_b/mainK timeout 60 $S --label main --save /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/pfq timeout 60 $S --label pfq --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/pft timeout 60 $S --label pft --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/mainK timeout 60 $S --label main --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/pfq timeout 60 $S --label pfq --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=kv_b/pft timeout 60 $S --label pft --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
python3 - "$O/ab.txt" <<'PY'
import collections, re, sys
rate = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"(main|pfq|pft) +(\w+) D\d+ p\d+ (\S+) .*? ([\d.]+) TFLOP/s", line)
    if m:
        rate[(m.group(1), m.group(2), m.group(3))].append(float(m.group(4)))
for label in ("pfq", "pft"):
    print(label, {f"{k[1]} {k[2]}": round(max(rate[k]) / max(rate[("main",) + k[1:]]), 3) for k in rate if k[0] == label})
PY
echo "($SECONDS s)"
