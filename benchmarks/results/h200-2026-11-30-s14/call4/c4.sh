#!/bin/bash
# Session 14, call 4: pal values of 8-slot pages as two [dim][8] halves (kv_b/vh) against the
# landed form: pal decode tests on it, then page-8 rows A/B/A with bits compared, ncu of 32 x 4096;
# the benchmark lab's prefill table beside FlashInfer (both layouts).
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS="--timeout=90"
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
PAL_KERNEL_DIR=kv_b/vh timeout 100 python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_cuda.py tests/test_variants.py -k "decode and pal and not cpu" > $O/tests.txt 2>&1
echo "vh tests rc $? ($SECONDS s)" | tee -a $O/log.txt; tail -1 $O/tests.txt | tee -a $O/log.txt
D="python3 scripts/decode_sweep.py --layouts pal --page 8 --rows 1x4096 8x4096 32x4096 64x4096"
dsweep() { timeout 60 $D "$@" 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt; }
dsweep --label lp --save /tmp/d8
PAL_KERNEL_DIR=kv_b/vh dsweep --label vh --compare /tmp/d8
dsweep --label lp-again
PAL_KERNEL_DIR=kv_b/vh timeout 60 python3 scripts/decode_sweep.py --layouts pal --page 8 --rows 32x4096 --dtype float16 --label vh-f16 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
M=gpu__time_duration.sum,lts__t_sectors_srcunit_tex_op_read.sum,lts__t_requests_srcunit_tex_op_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum
PAL_KERNEL_DIR=kv_b/vh timeout 60 ncu --clock-control none --metrics $M -k regex:pal_decode --launch-skip 2 --launch-count 1 \
  python3 kv_b/dec_prof.py pal:8 2>&1 | grep -E "pal_decode|  [a-z]" | tee -a $O/log.txt
echo "decode done ($SECONDS s)" | tee -a $O/log.txt
L="python3 -m proxy_attention_lab.bench --ops prefill --prefill 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 --dtype bfloat16 --no-plots"
for lay in nhd pal; do
  timeout $((560 - SECONDS)) $L --layout $lay --out $O/lab-$lay 2>&1 | grep -E "pal |flashinfer|ceilings|rror" | tee -a $O/prefill.txt
done
echo "end ($SECONDS s)" | tee -a $O/log.txt
