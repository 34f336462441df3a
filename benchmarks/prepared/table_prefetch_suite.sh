#!/bin/bash
# A call script for decode-table-prefetch.patch (prepared in the forty-sixth session, compiled
# here for every CI decode_mma key, not yet run): the split's page-table lines prefetched into L2
# at a decode CTA's start. Two A/B rounds against main's kernels over GQA, MQA and fp8 rows (the
# same bits expected: only a prefetch is added), then the whole pytest suite where it wins;
# memcheck (`bash scripts/kernel_suite.sh kv_b/tp 580 memcheck`) in a second call.
# To prepare: mkdir -p kv_b && cp -r crates/pal-core/kernels kv_b/mainK && cp -r
# crates/pal-core/kernels kv_b/tp && git apply --directory=kv_b/tp -p4
# benchmarks/prepared/decode-table-prefetch.patch; carry gpu-bundle, kv_b/mainK, kv_b/tp and
# kv_b/fi_cache.tgz.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py"
export GAIN=0  # each verdict: no row under 0.97 and the same bits; the gains are read from the ratios
# (name: sweep options) for each verdict file
for group in "gqa:--rows 8x4096 32x4096 1x32768" "mqa:--heads 32/1 --rows 8x4096 64x4096 256x1024" \
  "fp8:--kv-dtype float8_e4m3fn --rows 8x4096 32x4096"; do
  bash scripts/ab_rounds.sh "$O/ab-${group%%:*}.txt" "$S --layouts pal nhd ${group#*:}" mainK tp | grep -v "^read"
done
echo "== ($SECONDS s)"
if ! head -qn1 "$O"/ab-*.verdict | grep -q "^stop"; then
  bash scripts/kernel_suite.sh kv_b/tp $((585 - SECONDS)) pytest
fi
echo "call done $SECONDS s"
