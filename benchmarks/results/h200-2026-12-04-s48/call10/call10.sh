#!/bin/bash
# Session 48, call 10: the pal fill's values a page's run a store where pages hold fewer slots
# than a 16-byte vector (RUN keys; the wheel and crates/pal-core/kernels of the prepared patch):
# the fill tests at those pages, memcheck on the bf16 ones, then pages 2 / 4 / 16 against the
# kernels before (kv_b/fv/main: RUN ignored), checked against the CPU backend's pools.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call10.sh $O/
timeout 100 python3 -m pytest -q -p no:cacheprovider -n 16 tests/test_cuda.py tests/test_fp8.py -k "fill_matches or (fill_quantises and cuda)" > $O/tests.txt 2>&1; echo "tests rc $? ($SECONDS s)"; tail -2 $O/tests.txt
timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "fill_matches and pal and (112-2 or 64-4)" > $O/memcheck.txt 2>&1; echo "memcheck rc $? ($SECONDS s)"; tail -2 $O/memcheck.txt
P=benchmarks/prepared/fill_probe.py
for page in 2 4 16; do
  for v in before new; do
    d=crates/pal-core/kernels; [ $v = before ] && d=kv_b/fv/main
    PAL_KERNEL_DIR=$d timeout 40 python3 $P --label $v-p$page --page $page --layouts pal --tokens 32768,4096 --check
  done
done 2>&1 | grep -E "RES|check|rror" > $O/fill.txt
grep -v check $O/fill.txt | grep -v " copy "; grep -c equal $O/fill.txt; grep -E "DIFF|rror" $O/fill.txt
echo "call done $SECONDS s"
