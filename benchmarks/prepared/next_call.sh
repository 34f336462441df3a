#!/bin/bash
# A first GPU call for the twenty-seventh session (written in the twenty-sixth): the fp8 Hopper
# prefill's staged tiles widened before the next slot is waited for
# (prefill-hopper-fp8-widen-early.patch, kv_b/f8e) against main's kernels (kv_b/m27), A/B/A/B on
# fp8 history rows at page 16 and one round at pal pages 4 / 8 and head dim 64, then the whole
# suite and memcheck with PAL_KERNEL_DIR at it if it won. Before the call:
#   rm -f gpu-bundle/proxy_attention_lab-*.whl && maturin build --release -q --out gpu-bundle
#   for v in m27 f8e; do rm -rf kv_b/$v; mkdir -p kv_b/$v && cp -r crates/pal-core/kernels/. kv_b/$v; done
#   git apply --directory=kv_b/f8e -p4 benchmarks/prepared/prefill-hopper-fp8-widen-early.patch
# then `run` with carry ["gpu-bundle", "kv_b/m27", "kv_b/f8e"] and timeout_s 600. Land the patch
# (with the comment edits its README entry lists; check the SASS is the one that ran) if the
# verdict reads "suite f8e" and the suite passed.
. scripts/gpu_env.sh || exit 1
F8="python3 scripts/prefill_sweep.py --kv-dtype float8_e4m3fn"
bash scripts/ab_rounds.sh "$O/f8e.txt" "$F8 --rows 4x1024+8192 8x512+4096 4x2048+8192 --layouts nhd pal" m27 f8e
for page in 4 8; do
  ROUNDS=1 bash scripts/ab_rounds.sh "$O/f8e_p$page.txt" "$F8 --rows 4x1024+8192 8x512+4096 --layouts pal --page $page" m27 f8e
done
ROUNDS=1 bash scripts/ab_rounds.sh "$O/f8e_d64.txt" "$F8 --rows 4x1024+8192 8x512+4096 --layouts nhd pal --dim 64" m27 f8e
if head -1 "$O/f8e.txt.verdict" | grep -q "^suite f8e"; then
  PAL_KERNEL_DIR=kv_b/f8e timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
  echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
  grep -E "^FAILED|^____" "$O/suite/pytest.log" | head -20
  rm -rf "$O/suite"
fi
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
rm -f "$O"/*.verdict  # (printed above: at most eight files come back)
echo "end ($SECONDS s)"
