#!/bin/bash
# Twenty-first session, call 4: call 3 again with file names the transfer keeps (no '+'):
# ncu of the portable prefill (nhd, pal) and FlashInfer's FA2 path at 4 x 1024 over 8192.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
for l in pal nhd flashinfer-fa2; do
  PAL_PREFILL_PATH=portable timeout 150 python3 scripts/ncu_report.py prefill --layout $l --row 4x1024+8192 --out "$O/$l" > "$O/$l.txt" 2>&1
  echo "== $l rc $? ($SECONDS s)"; head -14 "$O/$l.txt"
  rm -f "$O/$l"/*.ncu-rep
done
