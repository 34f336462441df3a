#!/bin/bash
# Forty-first session, call 4: the whole GPU pytest suite on the tree that lands (the wheel with
# pal pages of 32 by tensor copies); memcheck over the large-page decode ran in calls 2-3 on this
# kernel, the other kernels' SASS is unchanged (scripts/sass_compare.py).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
xdist=$(python3 -c "import xdist" 2>/dev/null && echo "-n 14")
timeout 470 python3 -m pytest -q -rs -p no:cacheprovider $xdist tests > "$O/pytest.log" 2>&1
echo "pytest rc=$?"
grep -E "passed|failed|FAILED|Error" "$O/pytest.log" | tail -15
echo "done $SECONDS s"
