#!/bin/bash
# Twenty-first session, call 1: the prepared second Q tile (A/B with FA3, suite if it wins), the
# portable prefill beside FA2 at D 128 / 64, then the whole suite (main's knobs if q2 lost).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
sed -e '/^\[ "$(cut/,$d' benchmarks/prepared/next_call.sh > /tmp/nc.sh
bash /tmp/nc.sh
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
PAL_PREFILL_PATH=portable timeout 120 $S --label portable --flashinfer fa2 2>&1 | tee -a "$O/portable.txt"
if [ "$(cut -d' ' -f1 "$O/choice.txt")" = suite ]; then export PAL_PREFILL_TUNING=qbuffers=2; fi
echo "suite with PAL_PREFILL_TUNING=$PAL_PREFILL_TUNING"
timeout 330 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -8 "$O/suite.txt"
