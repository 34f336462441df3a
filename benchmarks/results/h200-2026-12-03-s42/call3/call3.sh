#!/bin/bash
# Forty-second session, call 3: issue 11's matrix beside FlashInfer by scripts/decode_matrix.py
# (its first run on a GPU) on the tree that lands; a group per process, each with its own JSON
# and verdict table; head dims last (FlashInfer's JIT compiles a kernel per head dim).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for g in spec fp8 pages heads dtypes dims; do
  left=$((590 - SECONDS)); [ $left -lt 30 ] && break
  echo "== $g ($SECONDS s)"
  timeout $left python3 scripts/decode_matrix.py --groups $g --json "$O/$g.json" > "$O/$g.txt" 2>&1
  grep -E "^\||rows at|rror" "$O/$g.txt" | tail -40
done
cat "$O"/*.txt > "$O/matrix.txt"; rm -f "$O"/spec.txt "$O"/fp8.txt "$O"/pages.txt "$O"/heads.txt "$O"/dtypes.txt "$O"/dims.txt
echo "done $SECONDS s"
