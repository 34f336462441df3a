#!/bin/bash
# Twenty-ninth session, call 6: fp8 pools keep 128-byte chunks on 128 threads (the wheel's new
# default; call 5 saw 256 bytes lose 12-24% there): every fill test, the fp8 tests under
# memcheck and gpu_memcheck.py's fills, and the lab's fp8 fill rows.
. scripts/gpu_env.sh || exit 1
export PAL_KERNEL_DIR=crates/pal-core/kernels
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
timeout 120 python3 -m pytest -q -p no:cacheprovider $par -k "fill" tests > $O/fill_tests.txt 2>&1; tail -2 $O/fill_tests.txt
{ timeout 80 compute-sanitizer --tool memcheck --error-exitcode 9 python3 scripts/gpu_memcheck.py; echo "rc $?"
  timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_fp8.py -k "fill"; echo "rc $?"; } > $O/memcheck.txt 2>&1
grep -E "ERROR SUMMARY|passed|failed|^rc" $O/memcheck.txt | tail -6
L="python3 -m proxy_attention_lab.bench --device cuda --ops fill --dtype bfloat16 --fill 4096 32768 256x1 --no-plots --out /tmp/b"
for lay in pal nhd; do echo "== landed fp8 $lay"; timeout 50 $L --layout $lay --kv-dtype float8_e4m3fn 2>&1 | grep -E "^fill .* pal |ceilings"; done > $O/lab_fp8.txt
cat $O/lab_fp8.txt
echo "done $SECONDS s"
