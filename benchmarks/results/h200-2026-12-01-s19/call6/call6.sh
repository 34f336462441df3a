#!/bin/bash
# Nineteenth session, call 6: the Hopper prefill's persistent producer claims its next item once
# its copies are issued (kclaim) against HEAD's kernels: A/B/A/B, then the whole suite on it.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py"
R="--rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768 1x128+32768"
(
PAL_KERNEL_DIR=kv_b/khead timeout 60 $S $R --label head --save /tmp/ph 2>&1
PAL_KERNEL_DIR=kv_b/kclaim timeout 60 $S $R --label claim --compare /tmp/ph 2>&1
PAL_KERNEL_DIR=kv_b/khead timeout 60 $S $R --label head --compare /tmp/ph 2>&1
PAL_KERNEL_DIR=kv_b/kclaim timeout 60 $S $R --label claim --compare /tmp/ph 2>&1
) > "$O/ab.txt"
grep TFLOP "$O/ab.txt"; echo "ab $SECONDS s"
PAL_KERNEL_DIR=kv_b/kclaim timeout 400 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests > $O/suite.txt 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a $O/suite.txt; tail -4 $O/suite.txt
