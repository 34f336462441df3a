#!/bin/bash
# Session 10, call 4 (profiles of the final form): the Rust example under memcheck; ncu of nhd
# 16 x 1024 and pal 4 x 1024 over 8192 with the per-instruction source view.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl gpu-bundle/ml_dtypes*.whl
nvrtc_dirs=$(python3 -c 'import nvidia, pathlib; print(":".join(str(pathlib.Path(d) / "cu13" / "lib") for d in nvidia.__path__))')
LD_LIBRARY_PATH="/usr/local/cuda/lib64:$nvrtc_dirs:${LD_LIBRARY_PATH:-}" \
  compute-sanitizer --tool memcheck --error-exitcode 9 gpu-bundle/cuda_decode > $O/rust_example.log 2>&1
echo "rust example status $?"; tail -3 $O/rust_example.log
export PYTHONPATH=/tmp/site
timeout 100 python3 scripts/ncu_report.py prefill --layout nhd --row 16x1024+0 --out $O/ncu-nhd-16x1024 2>&1 | head -40
timeout 100 python3 scripts/ncu_report.py prefill --layout pal --row 4x1024+8192 --out $O/ncu-pal-hist 2>&1 | head -40
