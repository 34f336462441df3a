#!/bin/bash
# Twenty-first session, call 6: ncu (per instruction) of the Hopper prefill (nhd) and FA3 at
# 16 x 1024, for an offline comparison of where each one's warps stall.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
for l in nhd flashinfer-fa3; do
  timeout 150 python3 scripts/ncu_report.py prefill --layout $l --row 16x1024+0 --out "/tmp/$l" > "$O/$l.txt" 2>&1
  echo "== $l rc $? ($SECONDS s)"; head -14 "$O/$l.txt"
  gzip -c "/tmp/$l/source.csv" > "$O/$l-source.csv.gz"
done
