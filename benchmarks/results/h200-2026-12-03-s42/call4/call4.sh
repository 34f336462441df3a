#!/bin/bash
# Forty-second session, call 4: decode_matrix.py's head-dim group again (call 3's run met
# FlashInfer's head dim 80 fault; decode_sweep.py now leaves FlashInfer out where it has no kernel).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 400 python3 scripts/decode_matrix.py --groups dims --json "$O/dims.json" > "$O/dims.txt" 2>&1
grep -E "^\||rows at|rror" "$O/dims.txt" | tail -40
echo "done $SECONDS s"
