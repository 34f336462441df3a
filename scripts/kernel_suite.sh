#!/usr/bin/env bash
# A call script's verdict step: the whole GPU suite and memcheck (scripts/gpu_suite.sh, "tests")
# with PAL_KERNEL_DIR at a candidate's kernel folder, its summary and first failures printed, and
# only suite.txt kept under $O (a call returns at most eight files).
# Memcheck runs beside pytest (gpu_suite.sh; in series they took 450 + 520 s on an H200,
# 2026-12-03, side by side not timed yet; pytest alone on 14 workers ran past 470 s that day, cut
# at 2561 of 2575 tests, before the compile claims of cuda/jit.rs); should a call's limit cut it,
# PAL_SUITE_SERIAL=1 in two calls (the memcheck half as `memcheck` in gpu_suite.sh).
# Usage (after `. scripts/gpu_env.sh`): bash scripts/kernel_suite.sh KERNEL_DIR [LIMIT_SECONDS]
dir=$1
echo "== suite on $dir"
PAL_KERNEL_DIR=$dir timeout "${2:-570}" bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
status=$?
echo "suite rc $status ($SECONDS s)" | tee -a "$O/suite.txt"
tail -12 "$O/suite.txt"
grep -E "^FAILED|^____" "$O/suite/pytest.log" | head -20
rm -rf "$O/suite"
exit $status
