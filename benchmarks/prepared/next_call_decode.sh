#!/bin/bash
# A GPU call for the decode's fused split merge (decode-fused-merge.patch; README.md), written in
# the twenty-first session: the patch changes host code (a counter buffer, the merge launch),
# so it needs a wheel built with it, e.g.
#   git worktree add /tmp/fm HEAD && cd /tmp/fm && git apply benchmarks/prepared/decode-fused-merge.patch
#   CARGO_TARGET_DIR=/work/main/target maturin build --release --out /tmp/fmwhl  (and cuda_decode)
# put in gpu-bundle/ in place of main's; `run` with carry ["gpu-bundle", "kv_b/fi_cache.tgz"]:
#   bash benchmarks/prepared/next_call_decode.sh   (about 8 device minutes with the suite)
# The same wheel times both forms (`PAL_DECODE_TUNING=fused=0`: the merge kernel), FlashInfer
# beside (the first run), then runs the whole suite if the fused form wins with the same bits.
. scripts/gpu_env.sh || exit 1
D="python3 scripts/decode_sweep.py --rows 1x4096 1x32768 2x4096 4x4096 8x4096 16x4096 32x4096"
PAL_DECODE_TUNING=fused=0 timeout 200 $D --label merge --save /tmp/dm --flashinfer 2>&1 | tee -a "$O/ab.txt"
timeout 100 $D --label fused --compare /tmp/dm 2>&1 | tee -a "$O/ab.txt"
PAL_DECODE_TUNING=fused=0 timeout 100 $D --label merge --compare /tmp/dm 2>&1 | tee -a "$O/ab.txt"
timeout 100 $D --label fused --compare /tmp/dm 2>&1 | tee -a "$O/ab.txt"
for kv in "--kv-dtype float8_e4m3fn" "--heads 32/1"; do
  PAL_DECODE_TUNING=fused=0 timeout 100 $D $kv --label merge --save /tmp/dm2 2>&1 | tee -a "$O/ab_more.txt"
  timeout 100 $D $kv --label fused --compare /tmp/dm2 2>&1 | tee -a "$O/ab_more.txt"
done
python3 scripts/ab_verdict.py "$O/ab.txt" --baseline merge --candidates fused --floor 0.98 --gain 1.01 > "$O/choice.txt"
cat "$O/choice.txt"; echo "($SECONDS s)"
[ "$(head -1 "$O/choice.txt" | cut -d' ' -f1)" = suite ] || exit 0
timeout 330 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -8 "$O/suite.txt"
