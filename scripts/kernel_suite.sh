#!/usr/bin/env bash
# A call script's verdict step: the whole GPU suite and memcheck (scripts/gpu_suite.sh, "tests")
# with PAL_KERNEL_DIR at a candidate's kernel folder, its summary and first failures printed, and
# only suite.txt kept under $O (a call returns at most eight files).
# Memcheck runs beside pytest (gpu_suite.sh). H200, 2026-12-03 (forty-second session): pytest
# alone on 14 workers 342 s (2537 tests; 1198 kernel compiles, 2111 s of compile time, none
# repeated: the compile claims of cuda/jit.rs), memcheck's three workloads at once with the Rust
# example 268 s; together they may pass one call's limit, so a call script may run the halves
# in two calls (PART `pytest`, then `memcheck`).
# Usage (after `. scripts/gpu_env.sh`): bash scripts/kernel_suite.sh KERNEL_DIR [LIMIT_SECONDS [PART]]
dir=$1
echo "== suite (${3:-tests}) on $dir"
PAL_KERNEL_DIR=$dir timeout "${2:-570}" bash scripts/gpu_suite.sh gpu-bundle "$O/suite" "${3:-tests}" > "$O/suite.txt" 2>&1
status=$?
echo "suite rc $status ($SECONDS s)" | tee -a "$O/suite.txt"
tail -12 "$O/suite.txt"
[ -f "$O/suite/pytest.log" ] && grep -E "^FAILED|^____" "$O/suite/pytest.log" | head -20
[ -f "$O/suite/memcheck.log" ] && grep -B2 -A12 "Invalid\|ERROR SUMMARY: [1-9]" "$O/suite/memcheck.log" | head -40
rm -rf "$O/suite"
exit $status
