#!/bin/bash
# Session 15, call 2: the whole suite on main's kernels (fp8 pal pages 8 / 4 and 16-bit pal
# page 2 staged per page, new test geometries), then ncu of the fp8 page-16 decode (what holds
# it at 85% of the read ceiling with L2 clean) and of the fill (85% of copy).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS="--timeout=120"
O=$OUT
timeout 440 bash scripts/gpu_suite.sh gpu-bundle $O/suite tests > $O/suite.txt 2>&1
echo "suite status $? ($SECONDS s)" | tee -a $O/suite.txt; rm -f $O/suite/gpu.txt
export PYTHONPATH=/tmp/site
mkdir -p /tmp/ncu
for spec in "decode pal 32x4096 float8_e4m3fn" "decode nhd 32x4096 float8_e4m3fn" "fill nhd 32768" "fill pal 32768"; do
  set -- $spec
  timeout 60 python3 scripts/ncu_report.py $1 --layout $2 --row $3 ${4:+--kv-dtype $4} --out /tmp/ncu/$1-$2${4:+-fp8} > /tmp/ncu/$1-$2${4:+-fp8}.txt 2>&1
  echo "== $spec ($SECONDS s)" >> $O/ncu.txt; cat /tmp/ncu/$1-$2${4:+-fp8}.txt >> $O/ncu.txt
done
tar czf $O/ncu.tgz -C /tmp ncu
