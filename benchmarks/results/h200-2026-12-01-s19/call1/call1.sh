#!/bin/bash
# Nineteenth session, call 1: (A) q-rows A/B on main's wheel (portable prefill), (B) split-KV +
# q-rows wheel: portable prefill tests and long-history sweep, (C) fill probe + ncu.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site2 kv_b/split/*.whl || exit 1
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
K=/tmp/qkernels; rm -rf $K; cp -r kv_b/kmain $K
patch -s -p4 -d $K < benchmarks/prepared/prefill-portable-q-rows.patch || exit 1
S="python3 scripts/prefill_sweep.py"
export PYTHONPATH=/tmp/site
(
export PAL_PREFILL_PATH=portable
timeout 150 $S --label main --save /tmp/pm --flashinfer fa2 2>&1
PAL_KERNEL_DIR=$K timeout 60 $S --label rows --compare /tmp/pm 2>&1
timeout 60 $S --label main --compare /tmp/pm 2>&1
PAL_KERNEL_DIR=$K timeout 60 $S --label rows --compare /tmp/pm 2>&1
) > "$O/ab.txt"
grep -E "TFLOP|fa2" "$O/ab.txt" | head -60
echo "A done $SECONDS s"
# C: fill (main wheel)
timeout 60 python3 kv_b/fill_probe.py > "$O/fill.txt" 2>&1; cat "$O/fill.txt"
timeout 120 ncu --clock-control none --kernel-name regex:"pal_fill|elementwise|copy" \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section WarpStateStats --section LaunchStats \
  python3 kv_b/fill_probe.py --ncu > "$O/fill_ncu.txt" 2>&1
grep -E "pal_fill|copy|elementwise|DRAM Throughput|Duration|Memory Throughput|Achieved Occupancy|Theoretical Occ|Registers Per|Block Limit" "$O/fill_ncu.txt" | head -80
echo "C done $SECONDS s"
# B: split wheel
export PYTHONPATH=/tmp/site2
PAL_PREFILL_PATH=portable timeout 150 python3 -m pytest -q -x -n 12 -p no:cacheprovider \
  tests/test_cuda.py tests/test_variants.py tests/test_fp8.py -k "prefill and not cpu" > "$O/split_portable.txt" 2>&1
tail -3 "$O/split_portable.txt"
R="--rows 1x128+32768 4x128+32768 1x512+32768 2x256+16384 16x1024+0 4x1024+8192"
(
PAL_PREFILL_PATH=portable timeout 100 $S $R --label split --flashinfer fa2 2>&1
PAL_PREFILL_PATH=portable PAL_PREFILL_TUNING=splits=1 timeout 60 $S $R --label nosplit 2>&1
timeout 60 $S $R --label hopper 2>&1
) > "$O/split_sweep.txt"
grep -E "TFLOP" "$O/split_sweep.txt"
echo "B done $SECONDS s"
