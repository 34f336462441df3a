#!/bin/bash
# Session 14, call 2: why pal pages of 8 and of 64-128 slots stream slower than 16 (ncu counters
# beside nhd); the evict-first limit at 16 / 24 x 4096 (256 / 384 MiB) A/B/A.
export PYTHONUNBUFFERED=1
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
M=gpu__time_duration.sum,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__t_sectors_srcunit_tex_op_read.sum,lts__t_requests_srcunit_tex_op_read.sum,lts__t_sector_op_read_hit_rate.pct,smsp__inst_executed.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio,smsp__average_warps_issue_stalled_lg_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_wait_per_issue_active.ratio,smsp__average_warps_issue_stalled_short_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_math_pipe_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_mio_throttle_per_issue_active.ratio,smsp__issue_active.avg.pct_of_peak_sustained_active,lts__average_gcomp_input_sector_success_rate.pct,dram__sectors_read.sum
timeout 200 ncu --clock-control none --metrics $M -k regex:pal_decode \
  python3 kv_b/dec_prof.py pal:16 pal:8 pal:4 pal:128 nhd:8 nhd:128 hnd:8 hnd:128 > $O/ncu.txt 2>&1
echo "ncu rc $? ($SECONDS s)" | tee -a $O/log.txt
D="python3 scripts/decode_sweep.py --rows 16x4096 24x4096 32x4096"
dsweep() { timeout 60 $D "$@" 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt; }
dsweep --label default
PAL_DECODE_TUNING=evict=700 dsweep --label evict700
dsweep --label default-again
PAL_DECODE_TUNING=evict=700 dsweep --label evict700-again
timeout 60 python3 scripts/decode_sweep.py --layouts hnd --rows 32x4096 --extra --label hnd 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
echo "end ($SECONDS s)" | tee -a $O/log.txt
