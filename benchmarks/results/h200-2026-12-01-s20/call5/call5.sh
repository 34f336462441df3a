#!/bin/bash
# Twentieth session, call 5: the Hopper producer issues an item's first tile before it waits
# for Q's release (kQ1; kQ0 = main), kernel only (PAL_KERNEL_DIR, lockstep wheel): A/B/A/B,
# then the whole suite with kQ1 if it wins with the same bits.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
PAL_KERNEL_DIR=kv_b/kQ0 timeout 100 $S --label main --save /tmp/pm 2>&1 | tee -a "$O/ab.txt"
for r in 1 2; do
  PAL_KERNEL_DIR=kv_b/kQ1 timeout 60 $S --label q1 --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
  [ $r = 1 ] && PAL_KERNEL_DIR=kv_b/kQ0 timeout 60 $S --label main --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
done
F="python3 scripts/prefill_sweep.py --kv-dtype float8_e4m3fn --rows 16x1024+0 4x1024+8192"
PAL_KERNEL_DIR=kv_b/kQ0 timeout 60 $F --label main8 --save /tmp/p8 2>&1 | tee -a "$O/ab8.txt"
PAL_KERNEL_DIR=kv_b/kQ1 timeout 60 $F --label q18 --compare /tmp/p8 2>&1 | tee -a "$O/ab8.txt"
python3 - "$O/ab.txt" > "$O/choice.txt" <<'PY'
import collections, re, sys
rate, bad = collections.defaultdict(list), False
for line in open(sys.argv[1]):
    m = re.match(r"(main|q1) +(\w+) D\d+ p\d+ (\S+) .*? ([\d.]+) TFLOP/s", line)
    if m:
        rate[(m.group(1), m.group(2), m.group(3))].append(float(m.group(4)))
        bad |= m.group(1) == "q1" and "same bits" not in line
ratio = {k[1:]: max(rate[k]) / max(rate[("main",) + k[1:]]) for k in rate if k[0] == "q1"}
r = list(ratio.values())
win = not bad and r and min(r) >= 0.98 and sum(r) / len(r) > 1.005
print("suite" if win else "stop", {f"{a} {b}": round(v, 3) for (a, b), v in ratio.items()}, "bits differ" if bad else "")
PY
cat "$O/choice.txt"
echo "($SECONDS s)"
[ "$(cut -d' ' -f1 "$O/choice.txt")" = suite ] || exit 0
export PAL_KERNEL_DIR=$PWD/kv_b/kQ1
timeout 330 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -8 "$O/suite.txt"
