#!/bin/bash
# A GPU call for the twenty-fourth session (written in the twenty-third, after next_call.sh):
# the Hopper prefill's tensor copies for Q and whole prompt tiles
# (prefill-hopper-tma-prompt.patch: Rust and kernels, so a bundle built with it). Its wheel
# times both forms: `PAL_PREFILL_TUNING=tma=0` keeps the cp.async copies. Before the call:
#   git apply benchmarks/prepared/prefill-hopper-tma-prompt.patch && bash scripts/gpu_bundle.sh
#   git checkout crates   (the tree back to main; gpu-bundle keeps the patched wheel)
# then `run` with carry ["gpu-bundle", "kv_b/fi_cache.tgz"] and timeout_s 600:
#   bash benchmarks/prepared/next_call_tma.sh
# The whole suite and memcheck first (the default is the patched form); then A/B/A/B against
# tma=0, the same bits asked (an item's padding Q rows differ, rows the output skips).
. scripts/gpu_env.sh || exit 1
timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
rc=$?
echo "suite rc $rc ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
[ $rc = 0 ] || exit 1
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768"
for round in 1 2; do
  for v in copies tma; do
    tune=; [ $v = copies ] && tune=tma=0
    if [ $round = 1 ] && [ $v = copies ]; then check="--save /tmp/pt"; else check="--compare /tmp/pt"; fi
    PAL_PREFILL_TUNING=$tune timeout 100 $S --label $v $check 2>&1 | tee -a "$O/ab.txt"
  done
done
python3 scripts/ab_verdict.py "$O/ab.txt" --baseline copies --candidates tma | tee "$O/ab.txt.verdict"
if [ $SECONDS -lt 470 ]; then
  timeout 100 python3 scripts/prefill_sweep.py --rows 1x4096+0 16x1024+0 4x1024+8192 8x512+4096 --flashinfer fa3 \
    --label tma 2>&1 | tee "$O/prefill_fa3.txt"
fi
echo "end ($SECONDS s)"
