#!/bin/bash
# Twenty-third session, call 6: the whole suite and memcheck with PAL_KERNEL_DIR at the form
# to land (kv_b/pprd = the tree's kernels: pp, call 5, and rd, call 1), then the prefill rows
# beside FlashInfer's FA3 path from the same kernels if time is left.
. scripts/gpu_env.sh || exit 1
PAL_KERNEL_DIR=kv_b/pprd timeout 380 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
if [ $SECONDS -lt 330 ]; then
  PAL_KERNEL_DIR=kv_b/pprd timeout 90 python3 scripts/prefill_sweep.py --rows 1x4096+0 16x1024+0 4x1024+8192 8x512+4096 \
    1x512+32768 4x128+32768 --flashinfer fa3 --label s23 2>&1 | tee "$O/prefill.txt"
fi
echo "end ($SECONDS s)"
