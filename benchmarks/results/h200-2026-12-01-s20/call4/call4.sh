#!/bin/bash
# Twentieth session, call 4: fill cache hints, kernel only (PAL_KERNEL_DIR; lockstep wheel):
# kF0 main, kF1 loads + 16-byte stores evict-first (ld/st .cs), kF2 stores .cs, kF3 loads .cs,
# kF4 loads ld.global.nc.L1::no_allocate.L2::256B; fill_probe (all layouts, copy beside), 3 rounds.
export PYTHONUNBUFFERED=1
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
for r in 1 2 3; do for v in kF0 kF1 kF2 kF3 kF4; do
  PAL_KERNEL_DIR=kv_b/$v timeout 40 python3 kv_b/fill_probe.py 2>&1 | grep tokens | sed "s/^/$v /" | tee -a $O/fill.txt
done; done
python3 - $O/fill.txt <<'PY'
import collections, re, sys
best = collections.defaultdict(float)
for line in open(sys.argv[1]):
    v, tok = line.split()[0], line.split()[1]
    for lay, rate in re.findall(r"\| (\w+) ([\d.]+)", line):
        best[(v, tok, lay)] = max(best[(v, tok, lay)], float(rate))
for tok in ("4096", "32768"):
    for v in ("kF0", "kF1", "kF2", "kF3", "kF4"):
        print(v, tok, " ".join(f"{lay} {best[(v, tok, lay)]:.3f}" for lay in ("nhd", "hnd", "pal")))
PY
echo "($SECONDS s)"
