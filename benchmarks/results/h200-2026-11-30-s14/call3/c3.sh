#!/bin/bash
# Session 14, call 3: which instructions of the pal page-8 decode read L2 sectors twice (ncu
# source counters, SASS view); evict-first copies under ncu (clean L2) against the default at
# 32 x 4096; then the landed form's tests for the changed paths.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS="--timeout=90"
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
timeout 150 ncu --clock-control none --section SourceCounters --section MemoryWorkloadAnalysis_Tables -k regex:pal_decode \
  --launch-skip 2 --launch-count 1 -o /tmp/p8 python3 kv_b/dec_prof.py pal:8 > $O/log.txt 2>&1
echo "ncu p8 rc $? ($SECONDS s)" | tee -a $O/log.txt
ncu --import /tmp/p8.ncu-rep --page source --csv --print-source sass > /tmp/p8.csv 2>&1
head -1 /tmp/p8.csv > $O/p8_sass.csv; grep -E "LDGSTS|LDG|STG|LDS|STS|LDSM" /tmp/p8.csv >> $O/p8_sass.csv
ncu --import /tmp/p8.ncu-rep --page details --section MemoryWorkloadAnalysis_Tables > $O/p8_mem.txt 2>&1
M=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sectors_srcunit_tex_op_read.sum,lts__t_requests_srcunit_tex_op_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed
for e in 0 700; do
  PAL_DECODE_TUNING=evict=$e timeout 60 ncu --clock-control none --metrics $M -k regex:pal_decode --launch-skip 2 --launch-count 1 \
    python3 kv_b/dec_prof.py pal:16 2>&1 | grep -E "pal_decode|  [a-z]" | sed "s/^/evict=$e /" | tee -a $O/log.txt
done
echo "ncu done ($SECONDS s)" | tee -a $O/log.txt
timeout 150 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_fp8.py -k "prefill and not cpu" > $O/tests.txt 2>&1
echo "tests rc $? ($SECONDS s)" | tee -a $O/log.txt; tail -3 $O/tests.txt | tee -a $O/log.txt
echo "end ($SECONDS s)" | tee -a $O/log.txt
