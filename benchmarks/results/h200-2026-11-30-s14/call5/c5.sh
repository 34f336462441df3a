#!/bin/bash
# Session 14, call 5: where the other slow pal page sizes lose (ncu source counters per memory
# instruction, the landed form + V halves): pal pages 4, 2, 128, fp8 pal page 8 and 4.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
M=gpu__time_duration.sum,lts__t_sectors_srcunit_tex_op_read.sum,lts__t_requests_srcunit_tex_op_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,smsp__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_active
for c in pal:4 pal:2 pal:128 pal:8::float8_e4m3fn pal:4::float8_e4m3fn pal:16::float8_e4m3fn; do
  n=$(echo $c | tr ':' '_')
  PAL_KERNEL_DIR=kv_b/vh timeout 60 ncu --clock-control none --section SourceCounters --metrics $M -k regex:pal_decode \
    --launch-skip 2 --launch-count 1 -o /tmp/$n python3 kv_b/dec_prof.py $c > /dev/null 2>&1
  echo "== $c rc $? ($SECONDS s)" | tee -a $O/log.txt
  ncu --import /tmp/$n.ncu-rep --page details --print-details all 2>&1 | grep -E "gpu__time|lts__t_s|lts__t_r|dram__th|inst_exec|issue_active" | tee -a $O/log.txt
  ncu --import /tmp/$n.ncu-rep --page source --csv --print-source sass 2>/dev/null | grep -E "Source|LDGSTS|LDG|LDSM|LDS|STS" > $O/$n.csv
done
echo "end ($SECONDS s)" | tee -a $O/log.txt
