#!/bin/bash
# A first GPU call for the twenty-eighth session (written in the twenty-seventh): two prepared
# Hopper prefill patches (benchmarks/prepared/README.md) against main: the soft-cap's tanh as one
# `tanh.approx` (sct; two rounds of the variant sweep, then the variant and CUDA tests on it) and
# `nhd` / `hnd` history copies at pages of 4 from one base a pool (srw, `SLOT_PLAN`; A/B/A/B,
# same bits); it prints which folder the whole suite and memcheck should run on (the winners
# together), which a second call does (the first call's sweeps compile every variant's kernels:
# both steps would not fit one 600-second call). Before the call:
#   rm -f gpu-bundle/proxy_attention_lab-*.whl && maturin build --release -q --out gpu-bundle
#   P=benchmarks/prepared; K=crates/pal-core/kernels
#   for v in m28 sct srw both; do rm -rf kv_b/$v; mkdir -p kv_b/$v && cp -r $K/. kv_b/$v; done
#   for v in sct both; do git apply --directory=kv_b/$v -p4 $P/prefill-hopper-softcap-tanh.patch; done
#   for v in srw both; do git apply --directory=kv_b/$v -p4 $P/prefill-hopper-slot-plan.patch; done
# then `run` with carry ["gpu-bundle", "kv_b/m28", "kv_b/sct", "kv_b/srw", "kv_b/both"] and
# timeout_s 600. Second call (carry gpu-bundle and that folder):
#   . scripts/gpu_env.sh && bash scripts/kernel_suite.sh kv_b/DIR 450
# Land what the suite ran on after checking that the landed SASS is the one that ran.
. scripts/gpu_env.sh || exit 1
for round in 1 2; do
  for v in m28 sct; do
    echo "== $v, round $round" | tee -a "$O/variants.txt"
    PAL_KERNEL_DIR=kv_b/$v timeout 120 python3 scripts/variant_sweep.py --ops prefill 2>&1 | tail -14 | tee -a "$O/variants.txt"
  done
done
# sct wins where its soft-cap rows average under 0.95x main's (kernel us, both rounds).
sct=$(python3 - "$O/variants.txt" <<'PY'
import re, sys
us = {}
variant = None
for line in open(sys.argv[1]):
    if line.startswith("== "):
        variant = line.split()[1].rstrip(",")
    m = re.match(r"\| (prefill \S+ \w+) \| soft-cap 30 \| ([\d.]+) \|", line)
    if m and variant:
        us.setdefault((variant, m[1]), []).append(float(m[2]))
rows = {row for _, row in us}
ratios = [sum(us[("sct", r)]) / sum(us[("m28", r)]) for r in rows if ("sct", r) in us and ("m28", r) in us]
print(f"soft-cap sct / main: {ratios}", file=sys.stderr)
print("sct" if ratios and sum(ratios) / len(ratios) < 0.95 else "")
PY
)
S="python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096"
bash scripts/ab_rounds.sh "$O/slot.txt" "$S --layouts nhd hnd --page 4" m28 srw
ROUNDS=1 bash scripts/ab_rounds.sh "$O/slot64.txt" "$S --layouts nhd --page 4 --dim 64" m28 srw
srw=$(head -1 "$O/slot.txt.verdict" | sed -n 's/^suite //p')
if [ -n "$sct" ]; then
  xdist=$(python3 -c "import xdist" 2>/dev/null && echo "-n 12")
  # shellcheck disable=SC2086
  PAL_KERNEL_DIR=kv_b/sct timeout 150 python3 -m pytest -q -p no:cacheprovider $xdist tests/test_variants.py -k cuda \
    > "$O/sct_tests.txt" 2>&1
  tail -3 "$O/sct_tests.txt"; grep -E "^FAILED" "$O/sct_tests.txt" | head -10
  grep -q " passed" "$O/sct_tests.txt" && ! grep -qE "failed|error" "$O/sct_tests.txt" || sct=""
fi
dir=$sct$srw
[ "$dir" = sctsrw ] && dir=both
echo "== suite next on: ${dir:-nothing (no winner)}"
echo "== verdicts (soft-cap: ${sct:-main})"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
rm -f "$O"/*.verdict
echo "end ($SECONDS s)"
