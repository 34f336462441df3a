#!/bin/bash
# Twenty-ninth session, call 1: fill variants (CTA shape by PAL_FILL_TUNING, nhd/hnd rows
# resolved per thread) beside main's kernel, the same bytes copied and FlashInfer's append;
# in-order pages (no scatter); ncu of main's fill and torch's copy.
. scripts/gpu_env.sh || exit 1
F=kv_b/fillx
P="python3 $F/probe.py"
v() {  # label dir tuning [args]
  local l=$1 d=$2 t=$3; shift 3
  PAL_KERNEL_DIR=$F/$d PAL_FILL_TUNING=$t timeout 60 $P --label $l "$@" 2>&1
}
VARS="main:kmain: gen:gen: local:local: t64x256:gen:tokens=64,threads=256 c256:gen:chunk=256,threads=256 t64m8:gen:tokens=64,min_ctas=8 l64x256:local:tokens=64,threads=256 lc256:local:chunk=256,threads=256"
{
for r in 1 2; do
  for x in $VARS; do IFS=: read l d t <<< "$x"; if [ $r = 1 ]; then v $l $d "$t" --check; else v $l $d "$t"; fi; done
  PAL_KERNEL_DIR=$F/kmain timeout 60 $P --label flashinfer --layouts nhd --peers 2>&1 | grep flashinfer
  v main-inorder kmain "" --inorder
done
} > $O/sweep.txt
grep -E "check|Error|error" $O/sweep.txt | head -30
grep RES $O/sweep.txt | sort -k3,3 -k4,4n -k2,2 -s | awk '{print $2, $3, $4, $5, $7}' | column -t
echo "sweep done $SECONDS s"
timeout 150 ncu --clock-control none --kernel-name regex:"pal_fill|copy|elementwise" \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Tables --section Occupancy \
  --section WarpStateStats --section LaunchStats --section SchedulerStats \
  --metrics dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sectors_op_read.sum,lts__t_sectors_op_write.sum,lts__t_sectors_srcunit_tex_op_write_lookup_miss.sum,lts__average_gcomp_input_sector_success_rate.pct \
  env PAL_KERNEL_DIR=$F/kmain python3 $F/probe.py --layouts nhd,pal --ncu > $O/ncu_main.txt 2>&1
timeout 60 ncu --clock-control none --kernel-name regex:"pal_fill" --section SpeedOfLight --section Occupancy --section WarpStateStats \
  env PAL_KERNEL_DIR=$F/local python3 $F/probe.py --layouts nhd --ncu > $O/ncu_local.txt 2>&1
grep -E "^  [a-zA-Z_].*\(|Duration|DRAM Throughput|L2 Cache Throughput|L2 Hit Rate|Achieved Occupancy|Registers Per|Mem Busy|Warp Cycles Per Issued|dram__bytes|lts__t_sectors|Memory Throughput" $O/ncu_main.txt $O/ncu_local.txt | head -80
echo "ncu done $SECONDS s"
