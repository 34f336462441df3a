#!/bin/bash
# Twenty-eighth session, call 6: call 5's pipe counters again with PAL_KERNEL_DIR at main's
# kernels (call 5's wheel predates the tanh.approx soft-cap: it profiled the reciprocal form).
. scripts/gpu_env.sh || exit 1
export PAL_KERNEL_DIR=crates/pal-core/kernels
M=sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active
M=$M,sm__pipe_alu_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_fmaheavy_cycles_active.avg.pct_of_peak_sustained_active
M=$M,sm__pipe_shared_cycles_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active
M=$M,gpu__time_duration.sum,smsp__inst_executed.sum
for lay in nhd pal; do
  for cap in 0 30; do
    echo "== $lay soft-cap $cap" | tee -a "$O/pipes.txt"
    timeout 90 ncu --clock-control none -k regex:pal_ --launch-skip 2 --launch-count 1 --metrics "$M" \
      python3 scripts/ncu_report.py _workload prefill $lay 4x1024+8192 "" 16 128 32/8 $cap 2>&1 | grep -E "^ +[a-z]|ERROR" | tee -a "$O/pipes.txt"
  done
done
echo "end ($SECONDS s)"
