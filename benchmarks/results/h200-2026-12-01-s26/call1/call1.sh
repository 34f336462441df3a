#!/bin/bash
# A first GPU call for the twenty-sixth session (written in the twenty-fifth): the whole suite
# and memcheck on a wheel built from main with graph-memory-nodes.patch and
# prefill-hopper-pal-page2-producer.patch applied, then the pal page-2 producer form A/B/A/B
# against the lockstep form (the same wheel, `PAL_PREFILL_TUNING=producer=0` is the old default;
# its SASS is main's), then the Hopper prefill beside FA3 at small pages. Before the call:
#   git apply benchmarks/prepared/graph-memory-nodes.patch
#   git apply benchmarks/prepared/prefill-hopper-pal-page2-producer.patch
#   rm -f gpu-bundle/proxy_attention_lab-*.whl && maturin build --release -q --out gpu-bundle
# then `run` with carry ["gpu-bundle", "kv_b/fi_cache.tgz"] and timeout_s 600. The two forms'
# bits differ (64- against 128-key tiles: the verdict says so and never reads "suite"): land
# both patches (that tree) if the suite passed and the producer's mean ratio is over 1.01 with
# no row under 0.97; else land the graph patch alone (without the prefill patch's host line the
# kernel change keeps main's SASS for every kernel main compiles).
. scripts/gpu_env.sh || exit 1
timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
rc=$?
echo "suite rc $rc ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
grep -E "^FAILED|^____" "$O/suite/pytest.log" | head -20
[ $rc = 0 ] || exit 1
saved=$(mktemp -d)
for round in 1 2; do
  for v in lockstep producer; do
    if [ $round = 1 ] && [ $v = lockstep ]; then check="--save $saved"; else check="--compare $saved"; fi
    tuning=$([ $v = lockstep ] && echo producer=0 || echo producer=1)
    PAL_PREFILL_TUNING=$tuning timeout 90 python3 -u scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 16x1024+0 \
      --layouts pal --page 2 --label $v $check 2>&1 | tee -a "$O/p2.txt"
  done
done
python3 scripts/ab_verdict.py "$O/p2.txt" --baseline lockstep --candidates producer | tee "$O/p2.txt.verdict"
# (The twenty-fifth session's call 2 gave these sweeps 50 s each after the suite and got no
# line from any: the first one here gets longer.)
limit=110
for page in 2 4 8 1; do
  [ $SECONDS -lt 500 ] || break
  timeout $limit python3 -u scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192 8x512+4096 --page $page \
    --flashinfer fa3 --label main 2>&1 | tee -a "$O/prefill_pages.txt"
  limit=60
done
echo "== verdicts"; cat "$O"/*.verdict
echo "end ($SECONDS s)"
