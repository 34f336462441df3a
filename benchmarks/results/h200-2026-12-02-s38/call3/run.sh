#!/bin/bash
# Session 38, call 3: the whole GPU suite and memcheck on pfa (the landed form) with the wheel
# of the split-floor host.
. scripts/gpu_env.sh >/dev/null 2>&1; bash scripts/kernel_suite.sh kv_b/pfa 575
