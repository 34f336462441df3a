#!/bin/bash
# Twenty-fifth session, call 2, on a wheel of main with split-KV scratch memory of the captured
# graph's own (memory nodes, `Gpu::workspace`): (1) the whole suite and memcheck with
# PAL_KERNEL_DIR at kv_b/wmg (main's kernels, the decode's warp-owned merge at two m-tiles
# only: SASS equal to main's at one m-tile and to decode-warp-merge.patch's at two), which
# runs the new test of two graphs replayed at once; (2) the Hopper prefill beside FA3 at pages
# 1, 2, 4 and 8 (main's kernels, with this session's pal small-page values and small-page
# ids); (3) ncu of pal page 4 and 8 history rows if time is left.
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/wmg timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
grep -E "two_graphs|FAILED|Error" "$O/suite.txt" | head -20
for page in 4 8 2 1; do
  [ $SECONDS -lt 540 ] || break
  timeout 50 python3 scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192 8x512+4096 --page $page \
    --flashinfer fa3 --label main 2>&1 | tee -a "$O/prefill_pages.txt"
done
[ $SECONDS -lt 500 ] && timeout 90 python3 scripts/ncu_report.py prefill --layout pal --page 4 --row 4x1024+8192 \
  --out /tmp/ncu-p4 > "$O/ncu_pal_p4.txt" 2>&1; head -60 "$O/ncu_pal_p4.txt"
echo "end ($SECONDS s)"
