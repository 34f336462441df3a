#!/bin/bash
# Twenty-fifth session, call 3. (1) A probe of the wheel with graph memory nodes (kv_b/mnw,
# kv_b/memory-nodes.patch), whose new test (two graphs of split calls replayed at once) hit an
# illegal address in call 2: each mode in its own process, with and without the decode merge's
# programmatic launch, then the failing mode under compute-sanitizer. (2) The whole suite and
# memcheck on main's host code with PAL_KERNEL_DIR at kv_b/wmg (the decode's warp-owned merge
# at two m-tiles), which call 2's crash left unchecked in one worker.
. scripts/gpu_env.sh || exit 1
P=benchmarks/results/h200-2026-12-01-s25/call3/graph_probe.py
pip install -q --no-deps --target /tmp/site_mn kv_b/mnw/*.whl 2>&1 | tail -1
run_mode() { PYTHONPATH=/tmp/site_mn:$PYTHONPATH timeout 40 python3 $P "$@" 2>&1 | grep -E "OK|MISMATCH|Error|error" | head -2; }
for mode in both1 decode2 prefill2 both2; do run_mode $mode; done
for mode in decode2 both2; do PAL_DECODE_TUNING=pdl=0 run_mode $mode | sed 's/^/pdl=0 /'; done
echo "probe done ($SECONDS s)"
[ $SECONDS -lt 110 ] && PYTHONPATH=/tmp/site_mn:$PYTHONPATH timeout 60 compute-sanitizer --tool memcheck --print-limit 4 python3 $P both2 2>&1 \
  | grep -v "^=========     Host Frame\|^=========         " | head -40
echo "sanitizer done ($SECONDS s)"
PAL_KERNEL_DIR=kv_b/wmg timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
grep -E "^FAILED|^____" "$O/suite/pytest.log" | head -20
echo "end ($SECONDS s)"
