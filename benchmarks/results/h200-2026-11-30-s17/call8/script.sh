#!/bin/bash
# s17 call 8: the integration's per-step plan (computed at a layer group's first layer, reused
# by its other layers): transformers tests on the GPU (CUDA graphs, bf16 per-call references),
# then the end-to-end breakdown again.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_transformers.py -rs 2>&1 | tail -4 | tee "$O/tests.txt"
echo "tests ($SECONDS s)" | tee -a "$O/tests.txt"
timeout 100 python3 scripts/transformers_e2e.py --breakdown --prompts 256 2048 2>&1 | grep -v -i warn | tee "$O/e2e.txt"
echo "end ($SECONDS s)" | tee -a "$O/e2e.txt"
