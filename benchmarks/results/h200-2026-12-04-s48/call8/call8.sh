#!/bin/bash
# Session 48, call 8: what the random page order costs the fill, by page size: pages of 1 / 4 /
# 16 / 64 / 128 slots in random order and 16 in order, 32768 new tokens, two rounds.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call8.sh $O/
P=benchmarks/prepared/fill_probe.py
for r in 1 2; do
  for page in 1 4 16 64 128; do
    timeout 60 python3 $P --label r$r-p$page --page $page --tokens 32768
  done
  timeout 60 python3 $P --label r$r-p16in --page 16 --inorder --tokens 32768
done 2>&1 | grep -E "RES|rror" > $O/pages.txt
python3 - <<'PY'
import collections, os, re
rows = collections.defaultdict(list)
for line in open(os.environ["O"] + "/pages.txt"):
    m = re.match(r"RES\s+r\d-(\S+)\s+(\S+)\s+(\d+)\s+\S+ TB/s\s+([\d.]+)%", line)
    if m: rows[(m[1], m[2])].append(float(m[4]))
for k in sorted(rows): print(*k, " ".join(f"{x:.1f}" for x in rows[k]))
PY
echo "call done $SECONDS s"
