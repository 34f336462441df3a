#!/bin/bash
# Sixty-first session, call 2: the persistent tensor-core decode (PAL_DECODE_TUNING persist=k).
# 1. Correct: every CUDA decode test on a persistent grid of at most 3 CTAs (each loops over
#    many cells), then with persist=3 alone. 2. Timed: the default plan against persist=2/3/4/6,
#    two alternating rounds, bf16 and fp8 rows, both layouts (kernel time by graph replay).
. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$O/gpu.txt"
export PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
workers=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
for t in "persist=3,persist_grid=3" "persist=3"; do
  PAL_DECODE_TUNING=$t timeout 150 python3 -m pytest -q -p no:cacheprovider $workers tests -k "cuda and decode" \
    > "$O/tests-$t.txt" 2>&1
  echo "tests [$t] rc $? ($SECONDS s)"; tail -1 "$O/tests-$t.txt"; grep -E "^FAILED" "$O/tests-$t.txt" | cut -c1-250 | head -8
done
for round in 1 2; do
  for t in "" "persist=2" "persist=3" "persist=4" "persist=6"; do
    [ $SECONDS -gt 540 ] && break 2
    PAL_DECODE_TUNING=$t timeout 60 python3 scripts/decode_sweep.py --layouts pal nhd \
      --rows 1x32768 8x4096 16x4096 32x4096 64x4096 --label "bf16 [$t]" 2>&1 | grep -E "TB/s|rror" >> "$O/persist.txt"
    PAL_DECODE_TUNING=$t timeout 60 python3 scripts/decode_sweep.py --layouts pal nhd --kv-dtype float8_e4m3fn \
      --rows 8x4096 32x4096 --label "fp8 [$t]" 2>&1 | grep -E "TB/s|rror" >> "$O/persist.txt"
    echo "round $round [$t] ($SECONDS s)"
  done
done
python3 - "$O/persist.txt" <<'PY'
import re, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) \[(.*?)\] (\w+) (\S+) .*kernel ([\d.]+) us", line)
    if m:
        rows[(m[1], m[3], m[4])].append((m[2], float(m[5])))
print(f"{'row':34} " + " ".join(f"{t or 'default':>10}" for t in ["", "persist=2", "persist=3", "persist=4", "persist=6"]))
for key, runs in rows.items():
    by = collections.defaultdict(list)
    for t, us in runs:
        by[t].append(us)
    base = min(by.get("", [float("nan")]))
    cells = [f"{base / min(by[t]):10.3f}" if t in by else f"{'-':>10}" for t in ["", "persist=2", "persist=3", "persist=4", "persist=6"]]
    print(f"{' '.join(key):34} " + " ".join(cells) + f"   (default {base:.1f} us)")
PY
