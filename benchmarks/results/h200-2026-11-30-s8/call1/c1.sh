#!/bin/bash
# Session 8, call 1: the merged next branches + host_profile: Rust example under memcheck, whole
# suite, memcheck; the host cost by stage beside FlashInfer's run(); the Hopper prefill's variant
# paths; the decode fill knob at small grids.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=$OUT
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
timeout 330 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests
echo "suite status $?"
tail -2 $O/suite/rust_example.log
export PYTHONPATH=/tmp/site
timeout 60 python3 scripts/call_overhead.py --flashinfer 2>&1 | tee $O/call_overhead.txt
R="--rows 1x4096 1x32768 8x4096"
for t in "" "fill=2" "fill=2,min_split=128" "fill=3,min_split=128"; do
  PAL_DECODE_TUNING=$t timeout 30 python3 scripts/decode_sweep.py --label "knob[$t]" $R 2>&1 | grep -v "^ " | tee -a $O/fill_knob.txt
done
(cd scripts && timeout 110 python3 variant_sweep.py 2>&1 | tee $O/variant_sweep.txt)
