#!/bin/bash
bash benchmarks/prepared/next_calls.sh portable-align
[ -d ~/.cache/flashinfer ] && tar czf "$OUT/fi_cache.tgz" -C ~/.cache flashinfer && ls -la "$OUT/fi_cache.tgz"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
