#!/bin/bash
# s17 call 7: where an end-to-end generation step goes (transformers continuous batching).
export PYTHONUNBUFFERED=1
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
timeout 200 python3 scripts/transformers_e2e.py --breakdown --prompts 256 2048 2>&1 | grep -v Warning | tee "$O/e2e.txt"
echo "end ($SECONDS s)" | tee -a "$O/e2e.txt"
