#!/bin/bash
# A first GPU call for the next session (written in the twentieth): the Hopper prefill with a
# second Q tile (prefill-hopper-two-q.patch; see README.md), so that an item's Q lands while the
# item before it runs, against main's three slots and against two slots with one Q tile, with
# FlashInfer's FA3 path beside; then the whole suite with `qbuffers=2` if it wins with the same
# bits. It needs a wheel with the patch (a host change: the knob and the key's Q_BUFFERS):
#   git worktree add /tmp/q2 HEAD && cd /tmp/q2 && git apply benchmarks/prepared/prefill-hopper-two-q.patch
#   maturin build --release --out /tmp/q2whl   (then put it in gpu-bundle/ in place of main's,
#   and the cuda_decode example built there), `run` with carry ["gpu-bundle", "kv_b/fi_cache.tgz"]:
#   bash benchmarks/prepared/next_call.sh (about 8 device minutes with the suite).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
timeout 200 $S --label main --save /tmp/pm --flashinfer fa3 2>&1 | tee -a "$O/ab.txt"
PAL_PREFILL_TUNING=stages=2 timeout 60 $S --label s2 --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_PREFILL_TUNING=qbuffers=2 timeout 60 $S --label q2 --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
timeout 60 $S --label main --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_PREFILL_TUNING=qbuffers=2 timeout 60 $S --label q2 --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
F="python3 scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192"
for dim in 64; do
  timeout 60 $F --dim $dim --label main --save /tmp/p$dim 2>&1 | tee -a "$O/ab_more.txt"
  PAL_PREFILL_TUNING=qbuffers=2 timeout 60 $F --dim $dim --label q2 --compare /tmp/p$dim 2>&1 | tee -a "$O/ab_more.txt"
done
timeout 60 $F --kv-dtype float8_e4m3fn --label main --save /tmp/p8 2>&1 | tee -a "$O/ab_more.txt"
PAL_PREFILL_TUNING=qbuffers=2 timeout 60 $F --kv-dtype float8_e4m3fn --label q2 --compare /tmp/p8 2>&1 | tee -a "$O/ab_more.txt"
python3 - "$O/ab.txt" > "$O/choice.txt" <<'PY'
import collections, re, sys
rate, bad = collections.defaultdict(list), False
for line in open(sys.argv[1]):
    m = re.match(r"(main|s2|q2) +(\w+) D\d+ p\d+ (\S+) .*? ([\d.]+) TFLOP/s", line)
    if m:
        rate[(m.group(1), m.group(2), m.group(3))].append(float(m.group(4)))
        bad |= m.group(1) == "q2" and "same bits" not in line
ratio = {k[1:]: max(rate[k]) / max(rate[("main",) + k[1:]]) for k in rate if k[0] == "q2"}
r = list(ratio.values())
win = not bad and r and min(r) >= 0.98 and sum(r) / len(r) > 1.005
print("suite" if win else "stop", {f"{a} {b}": round(v, 3) for (a, b), v in ratio.items()}, "bits differ" if bad else "")
PY
cat "$O/choice.txt"; echo "($SECONDS s)"
[ "$(cut -d' ' -f1 "$O/choice.txt")" = suite ] || exit 0
# The knob is read once per process: every Hopper prefill of the suite runs with two Q tiles.
export PAL_PREFILL_TUNING=qbuffers=2
timeout 330 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -8 "$O/suite.txt"
