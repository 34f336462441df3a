#!/bin/bash
# Twenty-second session, call 2: the Hopper prefill's soft-cap reciprocal on the FMA pipe (v1000:
# every key block, v4: three in four, v2: one in two) and ALiBi's bias as one FFMA per score, A/B/A/B
# against kv_b/qp (main + the Q prefetch, the variants' base); then the portable prefill with
# K and V in copy groups of their own (kvg) beside FA2.
. scripts/gpu_env.sh || exit 1
V="python3 scripts/variant_sweep.py --ops prefill"
for round in 1 2; do
  for v in qp v1000 v4 v2; do
    echo "## $v round $round" | tee -a "$O/variants.txt"
    PAL_KERNEL_DIR=kv_b/$v timeout 90 $V 2>&1 | grep "^| prefill" | sed "s/^/$v /" | tee -a "$O/variants.txt"
  done
done
echo "variants done ($SECONDS s)"
P="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=kv_b/qp timeout 150 $P --label pmain --save /tmp/pp --flashinfer fa2 2>&1 | tee -a "$O/portable.txt"
PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=kv_b/kvg timeout 60 $P --label kvg --compare /tmp/pp 2>&1 | tee -a "$O/portable.txt"
PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=kv_b/qp timeout 60 $P --label pmain --compare /tmp/pp 2>&1 | tee -a "$O/portable.txt"
PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=kv_b/kvg timeout 60 $P --label kvg --compare /tmp/pp 2>&1 | tee -a "$O/portable.txt"
python3 scripts/ab_verdict.py "$O/portable.txt" --baseline pmain --candidates kvg --floor 0.97 --gain 1.01 | tee "$O/choice_portable.txt"
echo "end ($SECONDS s)"
