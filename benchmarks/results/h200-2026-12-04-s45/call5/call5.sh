#!/bin/bash
# Forty-fifth session, call 5 (the wheel of e12cfed): the transformers, fill and full-attention tests on the GPU.
. scripts/gpu_env.sh >/dev/null 2>&1
timeout 250 python3 -m pytest -q -rs -p no:cacheprovider -n 14 tests/test_transformers.py tests/test_fill.py tests/test_full_attention.py 2>&1 | tail -8
