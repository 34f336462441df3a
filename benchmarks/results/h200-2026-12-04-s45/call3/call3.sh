#!/bin/bash
# Forty-fifth session, call 3 (landed kernels, b585ff8): (1) DRAM and L2 read sectors of the
# bf16 decode at 32 x 4096, nhd against hnd at head dims 80-128 (is nhd's gap at 80-112 extra
# DRAM traffic from rows that straddle lines?), (2) the stamps at the 8 x 4096 rows (GQA, MQA,
# fp8), (3) FlashInfer beside PAL on the small rows of issues 11 and 14.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
export PAL_KERNEL_DIR=crates/pal-core/kernels
M=dram__bytes_read.sum,dram__sectors_read.sum,lts__t_sectors_srcunit_tex_op_read.sum,lts__t_sectors_srcunit_tex_op_read_lookup_hit.sum,gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed
for d in 80 96 112 128; do
  for l in nhd hnd; do
    echo "== ncu $l d$d 32x4096 ($SECONDS s)"
    timeout 60 ncu --clock-control none -k 'regex:^pal_decode$' --launch-skip 2 --launch-count 1 --metrics "$M" \
      python3 scripts/ncu_report.py _workload decode "$l" 32x4096 "" 16 "$d" 32/8 0.0 bfloat16 2>&1 |
      grep -E "dram__|lts__|gpu__time"
  done
done
echo "== stamps ($SECONDS s)"
PAL_KERNEL_DIR=kv_b/st timeout 60 python3 benchmarks/prepared/decode_stamps.py --rows 8x4096 8x4096:1 1x32768 --flush 2>&1 | tail -30
PAL_KERNEL_DIR=kv_b/st timeout 40 python3 benchmarks/prepared/decode_stamps.py --rows 8x4096 --kv-dtype float8_e4m3fn --flush 2>&1 | tail -12
echo "== flashinfer ($SECONDS s)"
S="python3 scripts/decode_sweep.py --flashinfer --layouts pal nhd"
timeout 150 $S --rows 1x4096 8x4096 1x32768 32x4096 2>&1 | grep -v "^$"
timeout 60 $S --rows 1x4096 8x4096 --heads 32/1 2>&1 | grep -v "^$"
[ $SECONDS -lt 400 ] && timeout $((470 - SECONDS)) $S --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn 2>&1 | grep -v "^$"
echo "call done $SECONDS s"
