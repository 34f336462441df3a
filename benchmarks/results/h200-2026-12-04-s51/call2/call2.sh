#!/bin/bash
# Session 51, call 2: the whole pytest suite on the padded-pal-values candidate (kv_b/pv = main's
# kernels + prefill-wgmma-padded-pal-values.patch), its tests patch applied to this copy.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call2.sh $O/
rm -rf kv_b/pv && mkdir -p kv_b/pv && cp -r crates/pal-core/kernels/. kv_b/pv
git apply --directory=kv_b/pv -p4 benchmarks/prepared/prefill-wgmma-padded-pal-values.patch || exit 1
git apply benchmarks/prepared/prefill-padded-pal-tests.patch || exit 1
bash scripts/kernel_suite.sh kv_b/pv 570 pytest
echo "call done $SECONDS s"
