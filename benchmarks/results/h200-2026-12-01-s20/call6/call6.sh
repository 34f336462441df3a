#!/bin/bash
# Twentieth session, call 6: per-stream split workspaces (host change, new wheel): the new
# two-stream split test on the previous wheel (expected to fail: one workspace per GPU) and on
# the new one, the whole suite on the new one; then ncu of PAL's Hopper prefill and FlashInfer's
# FA3 at 16 x 1024 (nhd) side by side.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site_old kv_b/old/*.whl || exit 1
PYTHONPATH=/tmp/site_old timeout 60 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "split_calls_on_two_streams" > "$O/race_old.txt" 2>&1
echo "previous wheel: rc $?"; grep -E "passed|failed|call [0-9]" "$O/race_old.txt" | tail -3
timeout 330 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -8 "$O/suite.txt"
export PYTHONPATH=/tmp/site
grep -E "split_calls_on_two_streams" "$O/suite/pytest.log" | head -3
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 90 python3 scripts/ncu_report.py prefill --layout nhd --row 16x1024+0 --out "$O/ncu_pal_nhd16" > "$O/ncu_pal.txt" 2>&1; head -30 "$O/ncu_pal.txt"
echo "($SECONDS s)"
S=$(python3 -c "import re,sys; print(' '.join(f'--section {n}' for n in ['SpeedOfLight','ComputeWorkloadAnalysis','MemoryWorkloadAnalysis','WarpStateStats','SchedulerStats','LaunchStats','Occupancy']))")
mkdir -p "$O/ncu_fa3_16"
timeout 120 ncu --clock-control none -k "regex:[Pp]refill" --launch-skip 2 --launch-count 1 $S --page details --print-details all \
  python3 kv_b/s20/fa3_ncu.py 16x1024+0 > "$O/ncu_fa3_16/details.txt" 2>&1
python3 scripts/ncu_report.py summary "$O/ncu_fa3_16" | tee "$O/ncu_fa3.txt"
grep -m3 -E "^\s+[a-zA-Z_:<>0-9, ]*[Pp]refill" "$O/ncu_fa3_16/details.txt" | cut -c1-200
echo "($SECONDS s)"
