#!/bin/bash
# Twenty-eighth session, call 3: a share of the soft-capped tiles' exponentials on the FMA pipe
# (`exp2_poly`, every 1 / 2 / 4 key blocks: q1 / q2 / q4) against main (sct: the tanh.approx
# landed after calls 1-2), two rounds of the variant sweep; the variant tests on the best; then
# the portable prefill's `pal` Q-row offsets (pq, benchmarks/prepared) A/B against main.
# carry: gpu-bundle kv_b/sct kv_b/q1 kv_b/q2 kv_b/q4 kv_b/pq
. scripts/gpu_env.sh || exit 1
for round in 1 2; do
  for v in sct q2 q4 q1; do
    echo "== $v, round $round" | tee -a "$O/variants.txt"
    PAL_KERNEL_DIR=kv_b/$v timeout 100 python3 scripts/variant_sweep.py --ops prefill 2>&1 | tail -14 >> "$O/variants.txt"
  done
done
best=$(python3 - "$O/variants.txt" <<'PY'
import re, sys
us, variant = {}, None
for line in open(sys.argv[1]):
    if line.startswith("== "):
        variant = line.split()[1].rstrip(",")
    m = re.match(r"\| (prefill \S+ \w+) \| (soft-cap 30|plain) \| ([\d.]+) \|", line)
    if m and variant:
        us.setdefault((variant, m[1], m[2]), []).append(float(m[3]))
best, best_ratio = "", 0.97
for v in ("q1", "q2", "q4"):
    rows = sorted({r for (w, r, k) in us if w == v and k == "soft-cap 30"})
    ratios = [sum(us[(v, r, "soft-cap 30")]) / sum(us[("sct", r, "soft-cap 30")]) for r in rows]
    vs_plain = [sum(us[(v, r, "soft-cap 30")]) / sum(us[(v, r, "plain")]) for r in rows]
    mean = sum(ratios) / len(ratios)
    print(f"{v}: soft-cap / main's {[round(x, 3) for x in ratios]}, / plain {[round(x, 3) for x in vs_plain]}", file=sys.stderr)
    if mean < best_ratio:
        best, best_ratio = v, mean
print(best)
PY
)
echo "== soft-cap winner: ${best:-none}"
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 16x1024+0 4x1024+8192 8x512+4096 --layouts pal"
PAL_PREFILL_PATH=portable bash scripts/ab_rounds.sh "$O/portable.txt" "$S" sct pq | tail -3
if [ -n "$best" ]; then
  xdist=$(python3 -c "import xdist" 2>/dev/null && echo "-n 12")
  # shellcheck disable=SC2086
  PAL_KERNEL_DIR=kv_b/$best timeout 120 python3 -m pytest -q -p no:cacheprovider $xdist tests/test_variants.py -k cuda > "$O/tests.txt" 2>&1
  tail -2 "$O/tests.txt"; grep -E "^FAILED" "$O/tests.txt" | head -10
fi
rm -f "$O"/*.verdict
echo "end ($SECONDS s)"
