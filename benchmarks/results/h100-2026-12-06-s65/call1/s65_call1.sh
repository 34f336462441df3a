#!/bin/bash
# Sixty-fifth session, call 1: short-ncu (main's nhd against FA2, 16 x 1024, D 128) then tight.
bash benchmarks/prepared/next_calls.sh short-ncu 2>&1 | tail -45
echo "=== tight"
timeout 380 bash benchmarks/prepared/next_calls.sh tight 2>&1 | tail -40
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
