#!/bin/bash
# Twentieth session, call 2: the wheel with prefill-split-lockstep.patch + fill-persistent.patch
# (gpu-bundle's PAL wheel swapped): split tests on both paths, lockstep split A/B (head dim 256,
# pal pages of 2), fill v4 / v4 a tile per CTA / v3 exactly (main's kernels), A/B/A/B.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
MK=/tmp/mainkernels; rm -rf $MK; mkdir -p $MK; cp -r crates/pal-core/kernels/. $MK
cp kv_b/s20/test_cuda.py tests/test_cuda.py
timeout 100 python3 -m pytest -q -n 12 -p no:cacheprovider tests/test_cuda.py tests/test_fp8.py -k "splits or fill" > $O/tests.txt 2>&1; tail -2 $O/tests.txt
PAL_PREFILL_PATH=portable timeout 100 python3 -m pytest -q -n 12 -p no:cacheprovider tests/test_cuda.py -k splits >> $O/tests.txt 2>&1; tail -2 $O/tests.txt
echo "tests done $SECONDS s"
S="python3 scripts/prefill_sweep.py --dim 256 --rows 1x128+32768 2x128+32768 4x128+32768 1x512+32768 1x4096+0"
PAL_PREFILL_TUNING=splits=1 timeout 90 $S --label nosplit --save /tmp/d256 2>&1 | tee -a $O/lockstep.txt
timeout 60 $S --label split --compare /tmp/d256 2>&1 | tee -a $O/lockstep.txt
S2="python3 scripts/prefill_sweep.py --layouts pal --page 2 --rows 1x128+32768 2x128+32768 4x128+32768 1x512+32768"
PAL_PREFILL_TUNING=splits=1 timeout 60 $S2 --label nosplit --save /tmp/p2 2>&1 | tee -a $O/lockstep.txt
timeout 60 $S2 --label split --compare /tmp/p2 2>&1 | tee -a $O/lockstep.txt
echo "lockstep done $SECONDS s"
for i in 1 2; do
  timeout 60 python3 kv_b/fill_probe.py 2>&1 | sed "s/^/v4 /" | tee -a $O/fill.txt
  PAL_FILL_TUNING=persistent=0 timeout 60 python3 kv_b/fill_probe.py 2>&1 | sed "s/^/v4-tile /" | tee -a $O/fill.txt
  PAL_FILL_TUNING=persistent=0 PAL_KERNEL_DIR=$MK timeout 60 python3 kv_b/fill_probe.py 2>&1 | sed "s/^/v3 /" | tee -a $O/fill.txt
done
echo "fill done $SECONDS s"
timeout 100 python3 -m proxy_attention_lab.bench --device cuda --ops fill --dtype bfloat16 --layout pal --fill 4096 32768 256x1 --no-plots --out /tmp/b > $O/fill_lab.txt 2>&1; tail -12 $O/fill_lab.txt
echo "all done $SECONDS s"
