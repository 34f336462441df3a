#!/bin/bash
# Session 48, call 7: the pal fill with key rows staged as 16-byte vectors and values read a
# word (two dims) a token (kv_b/fv/pw) against main, three rounds; round 1 checks the pools
# against the CPU backend's at 4096 / 1000 / 8 tokens.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call7.sh $O/
P=benchmarks/prepared/fill_probe.py
for r in 1 2 3; do
  for v in main pw; do
    ch=""; [ $r = 1 ] && ch=--check
    PAL_KERNEL_DIR=kv_b/fv/$v timeout 60 python3 $P --label r$r-$v --layouts pal,hnd --tokens 32768,4096 $ch
  done
done 2>&1 | grep -E "RES|check|rror" > $O/fill.txt
python3 - <<'PY'
import collections, os, re
rows = collections.defaultdict(list)
for line in open(os.environ["O"] + "/fill.txt"):
    m = re.match(r"RES\s+r\d-(\S+)\s+(\S+)\s+(\d+)\s+\S+ TB/s\s+([\d.]+)%", line)
    if m: rows[(m[3], m[2], m[1])].append(float(m[4]))
for k in sorted(rows): print(*k, " ".join(f"{x:.1f}" for x in rows[k]))
PY
grep -E "check" $O/fill.txt
echo "call done $SECONDS s"
