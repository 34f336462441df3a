#!/bin/bash
# Session 48, call 1: the int64 index tests on CUDA; decode at head dim 256 on two-warp CTAs
# (the form for GPUs of 99 KB a CTA); fill variants (kv_b/fv) three rounds.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call1.sh $O/
timeout 150 python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_index_dtypes.py > $O/index.txt 2>&1; echo "index rc $? ($SECONDS s)"; tail -3 $O/index.txt
PAL_DECODE_TUNING=warps=2 timeout 200 python3 -m pytest -q -p no:cacheprovider -n 14 tests/test_cuda.py tests/test_fp8.py tests/test_variants.py -k "decode and 256" > $O/warps2.txt 2>&1; echo "warps2 rc $? ($SECONDS s)"; tail -3 $O/warps2.txt
P=benchmarks/prepared/fill_probe.py
for r in 1 2 3; do
  for v in main main7 p256 t16 t16p; do
    ch=""; [ $r = 1 ] && ch=--check
    d=$v; tune=""
    case $v in main7) d=main; tune=min_ctas=7;; t16|t16p) tune=tokens=16;; esac
    PAL_FILL_TUNING=$tune PAL_KERNEL_DIR=kv_b/fv/$d timeout 60 python3 $P --label r$r-$v --tokens 32768,4096 $ch
  done
done 2>&1 | grep -E "RES|check|rror" > $O/fill.txt
echo "fill done ($SECONDS s)"
timeout 120 python3 $P --label peers --tokens 32768,4096 --peers 2>&1 | grep -E "RES|rror" >> $O/fill.txt
python3 - <<'PY'
import collections, os, re
rows = collections.defaultdict(list)
for line in open(os.environ["O"] + "/fill.txt"):
    m = re.match(r"RES\s+r\d-(\S+)\s+(\S+)\s+(\d+)\s+\S+ TB/s\s+([\d.]+)%", line)
    if m: rows[(m[3], m[2], m[1])].append(float(m[4]))
for k in sorted(rows): print(*k, " ".join(f"{x:.1f}" for x in rows[k]))
PY
grep -E "check.*DIFF|peers|flashinfer" $O/fill.txt
