#!/bin/bash
# The next session's first GPU call (written in the fourteenth session): the two prepared decode
# patches, each on its own copy of the kernels (they touch the same lines; land one, rebase the
# other), tests then rows A/B with bits compared. Prepare on the build machine first:
#   bash scripts/gpu_bundle.sh
#   for v in f8:decode-fp8-pal-pages p2:decode-pal-page2; do
#     mkdir -p kv_b/${v%%:*} && cp -r crates/pal-core/kernels/. kv_b/${v%%:*} &&
#       git apply --directory=kv_b/${v%%:*} -p4 benchmarks/prepared/${v#*:}.patch; done
# then `run` with carry ["gpu-bundle", "kv_b"]: bash benchmarks/prepared/first_call.sh
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS="--timeout=120"
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
PT="python3 -m pytest -q -p no:cacheprovider -n 12"
PAL_KERNEL_DIR=kv_b/f8 timeout 120 $PT tests/test_fp8.py tests/test_variants.py -k "(decode and pal and not cpu) or past_the_end" > "$O/tests.txt" 2>&1
echo "f8 tests rc $? ($SECONDS s)" | tee -a "$O/log.txt"; tail -1 "$O/tests.txt" | tee -a "$O/log.txt"
PAL_KERNEL_DIR=kv_b/p2 timeout 120 $PT tests/test_cuda.py tests/test_variants.py -k "(decode and pal and not cpu) or past_the_end" >> "$O/tests.txt" 2>&1
echo "p2 tests rc $? ($SECONDS s)" | tee -a "$O/log.txt"; tail -1 "$O/tests.txt" | tee -a "$O/log.txt"
D="python3 scripts/decode_sweep.py --layouts pal --rows 8x4096 32x4096 64x4096"
row() { timeout 60 "$@" 2>&1 | grep -E "TB/s|rror" | tee -a "$O/decode.txt"; }
for page in 8 4; do
  row $D --kv-dtype float8_e4m3fn --page $page --label main-fp8-p$page --save /tmp/f$page
  PAL_KERNEL_DIR=kv_b/f8 row $D --kv-dtype float8_e4m3fn --page $page --label f8-p$page --compare /tmp/f$page
done
row $D --page 2 --label main-p2 --save /tmp/p2
PAL_KERNEL_DIR=kv_b/p2 row $D --page 2 --label p2 --compare /tmp/p2
row $D --page 2 --label main-p2-again
echo "end ($SECONDS s)" | tee -a "$O/log.txt"
