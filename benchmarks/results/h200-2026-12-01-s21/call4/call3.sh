#!/bin/bash
# Twenty-first session, call 3: ncu of the portable prefill (nhd, pal) beside FlashInfer's FA2
# path at 4 x 1024 over 8192 and 16 x 1024.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
for row in 4x1024+8192 16x1024+0; do
  for l in nhd pal flashinfer-fa2; do
    PAL_PREFILL_PATH=portable timeout 150 python3 scripts/ncu_report.py prefill --layout $l --row $row --out "$O/$l-$row" > "$O/$l-$row.txt" 2>&1
    echo "== $l $row rc $? ($SECONDS s)"; head -40 "$O/$l-$row.txt"
    rm -f "$O/$l-$row"/*.ncu-rep
  done
done
