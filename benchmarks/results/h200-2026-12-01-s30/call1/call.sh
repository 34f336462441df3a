#!/bin/bash
# Thirtieth session, call 1 (prepared after the twenty-ninth): the fill's fp8 scales once a chunk
# (fill-fp8-scales.patch) against main, the instructions each executes (ncu), and where the
# random page order costs the bf16 fill its last points (ncu, pages in order against random);
# head dim 64 with 256- against 128-byte chunks; then the whole suite on the patch if it wins 3%
# or more on the `pal` fp8 fill at 32768.
# Carry: gpu-bundle (a wheel of main and the Rust example) and kv_b/fi_cache.tgz.
. scripts/gpu_env.sh || exit 1
P="python3 benchmarks/prepared/fill_probe.py"
K=/tmp/fp8s; rm -rf $K; cp -r crates/pal-core/kernels $K
patch -s -p4 -d $K < benchmarks/prepared/fill-fp8-scales.patch || exit 1
M=crates/pal-core/kernels
{
PAL_KERNEL_DIR=$M timeout 60 $P --fp8 --check --label main --tokens 32768
PAL_KERNEL_DIR=$K timeout 60 $P --fp8 --check --label scales --tokens 32768
for r in 1 2; do
  PAL_KERNEL_DIR=$M timeout 60 $P --fp8 --label main
  PAL_KERNEL_DIR=$K timeout 60 $P --fp8 --label scales
done
} > $O/fp8.txt 2>&1
grep -E "check" $O/fp8.txt | grep -v ": equal"; grep -c ": equal" $O/fp8.txt
grep RES $O/fp8.txt | awk '{print $2, $3, $4, $5}' | sort -k2,2 -k3,3n -k1,1 -s
echo "fp8 done $SECONDS s"
N="ncu --clock-control none --kernel-name regex:pal_fill --metrics gpu__time_duration.sum,smsp__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_active,dram__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sectors_op_write.sum,lts__t_sectors_op_read.sum"
for d in $M $K; do echo "== fp8 $d"; PAL_KERNEL_DIR=$d timeout 60 $N $P --fp8 --layouts pal,nhd --ncu 2>&1 | grep -E "pal_fill|gpu__|smsp__|dram__|lts__"; done > $O/ncu_fp8.txt
cat $O/ncu_fp8.txt
for order in "" --inorder; do echo "== bf16 $order"; PAL_KERNEL_DIR=$M timeout 90 ncu --clock-control none --kernel-name regex:pal_fill \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Chart --print-details all \
  --metrics dram__bytes_read.sum,dram__bytes_write.sum,dram__cycles_active.avg.pct_of_peak_sustained_elapsed,lts__t_sectors_op_write.sum,lts__t_sectors_op_read.sum,lts__t_sectors_srcunit_tex_op_write_lookup_miss.sum \
  $P --layouts pal,nhd $order --ncu 2>&1 | grep -vE "^==PROF==|^    ---"; done > $O/ncu_scatter.txt
grep -E "^==|pal_fill|Duration|DRAM Throughput|dram__|lts__" $O/ncu_scatter.txt | head -60
echo "ncu done $SECONDS s"
# Head dim 64 (a 128-byte head row): the default 256-byte chunks span two heads (the general head
# lookup) against 128-byte chunks on 128 threads, one head each.
{
for r in 1 2; do
  PAL_KERNEL_DIR=$M timeout 60 $P --dim 64 --label d64-256
  PAL_KERNEL_DIR=$M PAL_FILL_TUNING=chunk=128,threads=128 timeout 60 $P --dim 64 --label d64-128
done
} > $O/d64.txt 2>&1
grep RES $O/d64.txt | awk '{print $2, $3, $4, $5, $7}' | sort -k2,2 -k3,3n -k1,1 -s
echo "d64 done $SECONDS s"
# The lab's bf16 fill rows (default call path, FlashInfer's append as the peer), two rounds.
L="python3 -m proxy_attention_lab.bench --device cuda --ops fill --dtype bfloat16 --fill 4096 32768 256x1 --no-plots --out /tmp/b"
for r in 1 2; do for lay in pal nhd hnd; do echo "== $r $lay"; timeout 60 $L --layout $lay 2>&1 | grep -E "^fill |ceilings"; done; done > $O/lab.txt
cat $O/lab.txt
echo "done $SECONDS s"
