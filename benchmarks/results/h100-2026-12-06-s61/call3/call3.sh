#!/bin/bash
# Sixty-first session, call 3 (main's kernels), cut to what the device time left holds: the
# S / P V operand-mode pair probe, the decode host knobs on an H200, the decode timeline.
. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$O/gpu.txt"
bash benchmarks/prepared/next_calls.sh pair
grep -q H200 "$O/gpu.txt" && { bash benchmarks/prepared/next_calls.sh knobs 2>&1 | tail -3; }  # (an H100 ran it in the sixtieth session)
bash benchmarks/prepared/next_calls.sh decode-stamps > "$O/decode-stamps-run.txt" 2>&1; tail -3 "$O/decode-stamps-run.txt"
