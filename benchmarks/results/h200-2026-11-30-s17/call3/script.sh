#!/bin/bash
# s17 call 3: TMA K as 1 KB box rows (2-D, 4-byte words) against V-only (tma=1) and the copying
# threads (tma=0) at pal pages 64 / 128, bits compared; then the whole suite and memcheck on
# the winner (the default if it is as fast and bit-equal, else with PAL_DECODE_TUNING=tma=1).
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
for page in 64 128; do
  D="python3 scripts/decode_sweep.py --layouts pal --page $page --rows 8x4096 32x4096 1x32768 64x4096"
  PAL_DECODE_TUNING=tma=0 timeout 60 $D --label threads-p$page --save /tmp/ab$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  PAL_DECODE_TUNING=tma=1 timeout 60 $D --label tmav-p$page --compare /tmp/ab$page --save /tmp/abv$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
  timeout 60 $D --label tmakv-p$page --compare /tmp/abv$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
done
timeout 60 python3 scripts/decode_sweep.py --layouts pal --page 128 --dim 64 --rows 8x4096 32x4096 --label tmakv-d64 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
timeout 60 python3 scripts/decode_sweep.py --layouts pal --page 128 --dim 256 --rows 8x4096 32x4096 --label tmakv-d256 2>&1 | grep -E "TB/s|rror" | tee -a "$O/ab.txt"
python3 - "$O/ab.txt" > "$O/choice.txt" <<'PY'
import re, sys
rate = {}
bad = False
for line in open(sys.argv[1]):
    m = re.match(r"(\w+)-p(\d+) pal (\S+) .*?kernel [\d.]+ us ([\d.]+) TB/s", line)
    if not m:
        continue
    rate[(m.group(1), m.group(2), m.group(3))] = float(m.group(4))
    if m.group(1) == "tmakv" and "differs" in line:
        bad = True
keys = [k for k in rate if k[0] == "tmakv"]
ratio = [rate[k] / rate[("tmav",) + k[1:]] for k in keys if ("tmav",) + k[1:] in rate]
win = not bad and ratio and min(ratio) >= 0.99 and sum(ratio) / len(ratio) >= 1.0
print("kv" if win else "v", "ratios", [round(r, 3) for r in ratio], "bits differ" if bad else "")
PY
cat "$O/choice.txt" | tee -a "$O/ab.txt"
if [ "$(cut -d' ' -f1 "$O/choice.txt")" = v ]; then export PAL_DECODE_TUNING=tma=1; fi
echo "suite with PAL_DECODE_TUNING=${PAL_DECODE_TUNING:-default} ($SECONDS s)" | tee -a "$O/ab.txt"
timeout 430 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"
