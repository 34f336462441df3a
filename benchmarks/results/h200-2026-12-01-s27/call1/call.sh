#!/bin/bash
# A first GPU call for the twenty-seventh session (written in the twenty-sixth): three prepared
# Hopper prefill patches A/B'd against main, then the whole suite and memcheck on the winners
# together. Before the call (f8e, kb, gvk: see benchmarks/prepared/README.md):
#   rm -f gpu-bundle/proxy_attention_lab-*.whl && maturin build --release -q --out gpu-bundle
#   P=benchmarks/prepared; K=crates/pal-core/kernels
#   for v in m27 f8e kb gvk kbf gvkf; do rm -rf kv_b/$v; mkdir -p kv_b/$v && cp -r $K/. kv_b/$v; done
#   for v in f8e kbf gvkf; do git apply --directory=kv_b/$v -p4 $P/prefill-hopper-fp8-widen-early.patch; done
#   for v in kb gvk kbf gvkf; do git apply --directory=kv_b/$v -p4 $P/prefill-hopper-pal-k-bases.patch; done
#   for v in gvk gvkf; do git apply --directory=kv_b/$v -p4 $P/prefill-hopper-pal-grouped-values.patch; done
# then `run` with carry ["gpu-bundle", "kv_b/m27", "kv_b/f8e", "kv_b/kb", "kv_b/gvk", "kv_b/kbf",
# "kv_b/gvkf"] and timeout_s 600. Land what the suite ran on (its verdicts in the output) after
# checking that the landed SASS is the one that ran.
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096"
bash scripts/ab_rounds.sh "$O/f8e.txt" "$S --kv-dtype float8_e4m3fn --layouts nhd pal" m27 f8e
for page in 4 8; do
  bash scripts/ab_rounds.sh "$O/pal$page.txt" "$S --layouts pal --page $page" m27 kb gvk
done
for page in 2 16; do
  ROUNDS=1 bash scripts/ab_rounds.sh "$O/pal$page.txt" "$S --layouts pal --page $page" m27 kb
done
fp8=$(head -1 "$O/f8e.txt.verdict" | grep -q "^suite f8e" && echo f)
pal=$(head -1 "$O/pal4.txt.verdict" | sed -n 's/^suite //p')
[ -z "$pal" ] && head -1 "$O/pal16.txt.verdict" | grep -q "^suite kb" && pal=kb
dir=$pal$fp8
[ "$dir" = f ] && dir=f8e
[ -n "$dir" ] && bash scripts/kernel_suite.sh "kv_b/$dir"
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
rm -f "$O"/*.verdict  # (printed above: at most eight files come back)
echo "end ($SECONDS s)"
