#!/bin/bash
# Sixty-third session, call 2: memcheck's workloads and the portable head-dim / page-size / bad-page
# tests under memcheck, on main's kernels plus prefill-portable-registers.patch (kv_b/pr), every
# prefill on the portable path.
export PAL_PREFILL_PATH=portable; bash benchmarks/prepared/next_calls.sh portable-memcheck
