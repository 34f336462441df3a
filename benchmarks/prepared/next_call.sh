#!/bin/bash
# A first GPU call for the next session (written in the twenty-first): the Hopper prefill whose
# producer prefetches the next item's Q into L2 (prefill-hopper-q-prefetch.patch, kv_b/qp), and
# that with P V's descriptors from a compile-time slot (+ prefill-hopper-uniform-values.patch,
# kv_b/qpu), against main, A/B/A/B with FA3 beside, head dim 64 and fp8 rows; then, if one wins
# with the same bits, the whole suite and memcheck with PAL_KERNEL_DIR at the better one (kernel
# changes only: any wheel of main serves). Before the call:
#   for v in mainK qp qpu; do mkdir -p kv_b/$v && cp -r crates/pal-core/kernels/. kv_b/$v; done
#   git apply --directory=kv_b/qp -p4 benchmarks/prepared/prefill-hopper-q-prefetch.patch
#   git apply --directory=kv_b/qpu -p4 benchmarks/prepared/prefill-hopper-q-prefetch.patch
#   git apply --directory=kv_b/qpu -p4 benchmarks/prepared/prefill-hopper-uniform-values.patch
#   mkdir -p kv_b/kvg && cp -r crates/pal-core/kernels/. kv_b/kvg
#   git apply --directory=kv_b/kvg -p4 benchmarks/prepared/prefill-portable-kv-groups.patch
# then `run` with carry ["gpu-bundle", "kv_b/fi_cache.tgz", "kv_b/mainK", "kv_b/qp", "kv_b/qpu", "kv_b/kvg"]
# (main's runs name kv_b/mainK too: a wheel built while the tree held a variant once passed for
# main's, twenty-first session, call 6):
#   bash benchmarks/prepared/next_call.sh (about 8 device minutes with the suite).
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
PAL_KERNEL_DIR=kv_b/mainK timeout 200 $S --label main --save /tmp/pm --flashinfer fa3 2>&1 | tee -a "$O/ab.txt"
for v in qp qpu; do PAL_KERNEL_DIR=kv_b/$v timeout 60 $S --label $v --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"; done
PAL_KERNEL_DIR=kv_b/mainK timeout 60 $S --label main --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
for v in qp qpu; do PAL_KERNEL_DIR=kv_b/$v timeout 60 $S --label $v --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"; done
F="python3 scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192 8x512+4096"
for opt in "--dim 64" "--kv-dtype float8_e4m3fn"; do
  tag=$(echo $opt | tr -d ' -')
  PAL_KERNEL_DIR=kv_b/mainK timeout 60 $F $opt --label main --save /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
  for v in qp qpu; do PAL_KERNEL_DIR=kv_b/$v timeout 60 $F $opt --label $v --compare /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"; done
done
# The portable prefill with K and V in copy groups of their own (prefill-portable-kv-groups.patch,
# kv_b/kvg), FA2 beside: timing only (its suite is a later call's).
P="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
if [ -d kv_b/kvg ]; then
  PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=kv_b/mainK timeout 120 $P --label pmain --save /tmp/pp --flashinfer fa2 2>&1 | tee -a "$O/portable.txt"
  PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=kv_b/kvg timeout 60 $P --label kvg --compare /tmp/pp 2>&1 | tee -a "$O/portable.txt"
  PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=kv_b/mainK timeout 60 $P --label pmain --compare /tmp/pp 2>&1 | tee -a "$O/portable.txt"
  PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=kv_b/kvg timeout 60 $P --label kvg --compare /tmp/pp 2>&1 | tee -a "$O/portable.txt"
fi
python3 scripts/ab_verdict.py "$O/ab.txt" --candidates qp qpu --floor 0.97 --gain 1.01 > "$O/choice.txt"
cat "$O/choice.txt"; echo "($SECONDS s)"
[ "$(head -1 "$O/choice.txt" | cut -d' ' -f1)" = suite ] || exit 0
export PAL_KERNEL_DIR=kv_b/$(head -1 "$O/choice.txt" | cut -d' ' -f2)  # every process of the suite compiles it
timeout 330 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite ($PAL_KERNEL_DIR) rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -8 "$O/suite.txt"
