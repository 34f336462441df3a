#!/bin/bash
# Twenty-fifth session, call 4: the graph-memory-node probe (call3/graph_probe.py) again, on
# main's wheel (captured calls share one buffer: wrong bits expected, not a fault) and on the
# memory-node wheel (kv_b/mnw) with each graph captured on a stream of its own.
. scripts/gpu_env.sh || exit 1
P=benchmarks/results/h200-2026-12-01-s25/call3/graph_probe.py
pip install -q --no-deps --target /tmp/site_mn kv_b/mnw/*.whl > /dev/null 2>&1
run() { local site=$1; shift; PYTHONPATH=$site timeout 40 python3 $P "$@" 2>&1 | grep -E "OK|MISMATCH|Error:" | head -1 | sed "s|^|$site $* : |"; }
run /tmp/site decode2
run /tmp/site both2
run /tmp/site_mn:/tmp/site decode2 --own
run /tmp/site_mn:/tmp/site both2 --own
run /tmp/site_mn:/tmp/site both2 --sync
echo "end ($SECONDS s)"
