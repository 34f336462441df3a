#!/bin/bash
# A call script (forty-fourth session; its 16-bit part timed there, not yet through the suite):
# main's kernels with decode-merge-swizzle.patch (kv_b/ms) against main's (kv_b/mainK), two
# rounds over the small rows where the one-m-tile warps' merge lies on a CTA's critical path
# (bf16 GQA and MQA, fp8 nhd, whose swizzle was not timed), then the whole pytest suite on it
# where it wins; memcheck (`bash scripts/kernel_suite.sh kv_b/ms 580 memcheck`) in a second
# call. To prepare: mkdir -p kv_b && cp -r crates/pal-core/kernels kv_b/mainK && cp -r
# crates/pal-core/kernels kv_b/ms && git apply --directory=kv_b/ms -p4
# benchmarks/prepared/decode-merge-swizzle.patch; carry gpu-bundle, kv_b/mainK, kv_b/ms.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py"
export GAIN=0  # each verdict: no row under 0.97 and the same bits (MQA gained 1.02-1.05x in call 6)
bash scripts/ab_rounds.sh "$O/ab-gqa.txt" "$S --layouts pal nhd --rows 1x4096 8x4096 1x32768" mainK ms | grep -v "^read"
bash scripts/ab_rounds.sh "$O/ab-mqa.txt" "$S --layouts pal nhd --heads 32/1 --rows 1x4096 8x4096" mainK ms | grep -v "^read"
bash scripts/ab_rounds.sh "$O/ab-fp8.txt" "$S --layouts nhd pal --kv-dtype float8_e4m3fn --rows 1x4096 8x4096" mainK ms | grep -v "^read"
echo "== ($SECONDS s)"
if ! head -qn1 "$O"/ab-*.verdict | grep -q "^stop"; then
  bash scripts/kernel_suite.sh kv_b/ms $((585 - SECONDS)) pytest
fi
echo "call done $SECONDS s"
