#!/bin/bash
# A first GPU call for the twenty-fifth session (written in the twenty-fourth): the whole suite
# and memcheck with PAL_KERNEL_DIR at the decode's new cross-warp merge
# (decode-warp-merge.patch), then, if it passed, A/B/A/B against main's kernels on MQA and GQA
# rows (same bits asked) and the MQA rows beside FlashInfer. Before the call:
#   for v in mainK wm; do mkdir -p kv_b/$v && cp -r crates/pal-core/kernels/. kv_b/$v; done
#   git apply --directory=kv_b/wm -p4 benchmarks/prepared/decode-warp-merge.patch
# then `run` with carry ["gpu-bundle", "kv_b/mainK", "kv_b/wm", "kv_b/fi_cache.tgz"] and
# timeout_s 600 (gpu-bundle from scripts/gpu_bundle.sh; fi_cache.tgz from a call that built
# FlashInfer's JIT cache, else drop --flashinfer below):
#   bash benchmarks/prepared/next_call.sh
# At most eight files come back from $OUT: the verdicts are printed last as well. If the suite
# passes and the MQA verdict says "suite wm" with GQA level, apply the patch and land it.
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/wm timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
rc=$?
echo "suite rc $rc ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
[ $rc = 0 ] || exit 1
bash scripts/ab_rounds.sh "$O/mqa.txt" "python3 scripts/decode_sweep.py --heads 32/1 --rows 1x4096 2x4096 4x4096 8x4096 32x4096 \
  --layouts nhd pal" mainK wm
FLOOR=0.98 bash scripts/ab_rounds.sh "$O/gqa.txt" "python3 scripts/decode_sweep.py --rows 1x4096 8x4096 32x4096 1x32768 \
  --layouts nhd pal" mainK wm
ROUNDS=1 bash scripts/ab_rounds.sh "$O/more.txt" "python3 scripts/decode_sweep.py --heads 64/8 --rows 1x4096 8x4096 \
  --layouts nhd pal" mainK wm
[ $SECONDS -lt 520 ] && PAL_KERNEL_DIR=kv_b/wm timeout 60 python3 scripts/decode_sweep.py --heads 32/1 --rows 1x4096 4x4096 32x4096 \
  --layouts nhd pal --flashinfer --label wm 2>&1 | tail -7 | tee "$O/mqa_fi.txt"
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
echo "end ($SECONDS s)"
