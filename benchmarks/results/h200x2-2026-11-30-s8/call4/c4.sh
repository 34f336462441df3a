#!/bin/bash
# Session 8, call 4 (two H200s): the decode's split merge folded into its last CTA (one launch):
# whole suite + memcheck; decode speed and bits against main's wheel; eager latency.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 300 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests
echo "suite status $?"
tail -2 $O/suite/rust_example.log
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site_main kv_b/main-wheel/*.whl
R="--rows 1x4096 1x32768 8x4096 32x4096 64x4096 4x1024 1x512"
PYTHONPATH=/tmp/site_main:/tmp/site timeout 45 python3 scripts/decode_sweep.py --label main $R --save /tmp/ds 2>&1 | grep -v "^ " | tee $O/sweep.txt
PYTHONPATH=/tmp/site timeout 45 python3 scripts/decode_sweep.py --label fused $R --compare /tmp/ds 2>&1 | grep -v "^ " | tee -a $O/sweep.txt
PYTHONPATH=/tmp/site_main:/tmp/site timeout 25 python3 scripts/decode_sweep.py --label main-fp8 --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 --save /tmp/ds8 2>&1 | grep -v "^ " | tee -a $O/sweep.txt
PYTHONPATH=/tmp/site timeout 25 python3 scripts/decode_sweep.py --label fused-fp8 --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 --compare /tmp/ds8 2>&1 | grep -v "^ " | tee -a $O/sweep.txt
PYTHONPATH=/tmp/site timeout 50 python3 scripts/decode_sweep.py --label fused-fi --flashinfer --rows 1x4096 1x32768 8x4096 2>&1 | grep -v "^ " | tee -a $O/sweep.txt
PYTHONPATH=/tmp/site timeout 45 python3 scripts/call_overhead.py --flashinfer --latency 2>&1 | tee $O/latency.txt
