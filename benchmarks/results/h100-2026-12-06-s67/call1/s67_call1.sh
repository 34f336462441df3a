#!/bin/bash
# Sixty-seventh session, call 1 (one call, machines being scarce): the bundle is main + both
# stagger patches (the host takes STAGGER at D 192 / 256 by default; stagger=0 is main's form).
# A/B in turn (D 256 two rounds, D 192 one), a verdict, then on a win the whole suite with
# memcheck beside it (portable forced), else the decode knobs on this GPU.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
ab() {  # ab DIM
  for t in "stagger=0" ""; do
    PAL_PREFILL_TUNING=$t timeout 60 python3 scripts/prefill_sweep.py --dim $1 --layouts nhd pal \
      --rows 4x4096+0 16x1024+0 4x1024+8192 --label "stg[$t]" 2>&1 | tee -a "$O/stagger_ab.txt" | grep TFLOP
  done
}
ab 256; ab 192; ab 256
echo "ab done ($SECONDS s)"
python3 - "$O/stagger_ab.txt" > "$O/verdict.txt" <<'PY'
import collections, math, re, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"stg\[(\S*)\]\s+(\S+) (D\d+) \S+ (\S+)\s+(\d+) us", line)
    if m:
        runs[(m[2], m[3], m[4], m[1] or "default")].append(float(m[5]))
ratios = []
for (layout, dim, row, t), us in sorted(runs.items()):
    if t == "default":
        base = runs[(layout, dim, row, "stagger=0")]
        r = min(base) / min(us)
        ratios.append(r)
        print(f"{layout} {dim} {row:<12} stagger/main {r:.3f} (main {min(base):.0f} us, stagger {min(us):.0f} us)")
mean = math.exp(sum(map(math.log, ratios)) / len(ratios))
win = mean >= 1.02 and min(ratios) >= 0.97
print(f"geomean {mean:.3f}, worst {min(ratios):.3f}: {'WIN' if win else 'no win'}")
PY
cat "$O/verdict.txt"
if grep -q WIN "$O/verdict.txt"; then
  bash scripts/kernel_suite.sh "$PWD/crates/pal-core/kernels" $(( 590 - SECONDS )) tests
else
  unset PAL_PREFILL_PATH PAL_KERNEL_DIR
  bash benchmarks/prepared/next_calls.sh knobs 2>&1 | tail -30
fi
echo "($SECONDS s)"
