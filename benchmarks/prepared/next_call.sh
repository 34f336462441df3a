#!/bin/bash
# A first GPU call for the twenty-sixth session (written in the twenty-fifth): the whole suite
# and memcheck on a wheel built from main with graph-memory-nodes.patch applied (its new test,
# test_split_calls_in_two_graphs_replayed_at_once, among them). Before the call:
#   git apply benchmarks/prepared/graph-memory-nodes.patch
#   rm -f gpu-bundle/proxy_attention_lab-*.whl && maturin build --release -q --out gpu-bundle
# then `run` with carry ["gpu-bundle"] and timeout_s 450. Land the patch (the same tree) if the
# suite passed; if the new test fails, run it alone on main's wheel too, which should fail by
# mixed bits (the limitation the patch lifts), not by a fault.
. scripts/gpu_env.sh || exit 1
timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
grep -E "^FAILED|^____" "$O/suite/pytest.log" | head -20
