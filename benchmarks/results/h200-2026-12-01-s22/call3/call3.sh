#!/bin/bash
# Twenty-second session, call 3: the whole suite and memcheck on a wheel of the tree (the Hopper
# prefill's Q prefetch into L2 and ALiBi's bias as one FFMA per score), then the variant sweep
# and the prefill table beside FA3 from the same wheel.
. scripts/gpu_env.sh || exit 1
timeout 360 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
timeout 60 python3 scripts/variant_sweep.py --ops prefill 2>&1 | tail -14 | tee "$O/variants.txt"
timeout 100 python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768 --flashinfer fa3 --label s22 2>&1 | tee "$O/prefill.txt"
echo "end ($SECONDS s)"
