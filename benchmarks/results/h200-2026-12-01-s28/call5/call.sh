#!/bin/bash
# Twenty-eighth session, call 5 (no kernel to land): where soft-capped Hopper prefill tiles spend
# their time now that the tanh is one MUFU op (soft-cap 30 at 1.13-1.18x plain, call 1) and
# moving exponentials to the FMA pipe lost (call 3): ncu of main's nhd / pal history row plain and
# soft-capped, then the pipes' utilisation (MUFU = XU, FMA, ALU, tensor, issue) of each.
. scripts/gpu_env.sh || exit 1
R="--row 4x1024+8192"
for lay in nhd pal; do
  timeout 150 python3 scripts/ncu_report.py prefill --layout $lay $R --out "$O/$lay-plain" > /dev/null 2>&1
  timeout 150 python3 scripts/ncu_report.py prefill --layout $lay $R --soft-cap 30 --out "$O/$lay-cap" > /dev/null 2>&1
done
M=sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active
M=$M,sm__pipe_alu_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_fmaheavy_cycles_active.avg.pct_of_peak_sustained_active
M=$M,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active
M=$M,sm__pipe_shared_cycles_active.avg.pct_of_peak_sustained_active,gpu__time_duration.sum,smsp__inst_executed.sum
for lay in nhd pal; do
  for cap in 0 30; do
    echo "== $lay soft-cap $cap" | tee -a "$O/pipes.txt"
    timeout 90 ncu --clock-control none -k regex:pal_ --launch-skip 2 --launch-count 1 --metrics "$M" \
      python3 scripts/ncu_report.py _workload prefill $lay 4x1024+8192 "" 16 128 32/8 $cap 2>&1 | grep -E "^ +[a-z]" | tee -a "$O/pipes.txt"
  done
done
grep -q pct "$O/pipes.txt" || ncu --query-metrics 2>/dev/null | grep -iE "pipe_(xu|fma|alu|tensor)" | head -40 > "$O/pipe_metrics.txt"
for d in "$O"/*-plain "$O"/*-cap; do
  echo "== $(basename "$d")"; python3 scripts/ncu_report.py summary "$d" 2>&1 | head -24 > "$d/summary.txt"; head -12 "$d/summary.txt"
  { echo "== $(basename "$d")"; cat "$d/details.txt"; } >> "$O/details_all.txt"
  rm -f "$d/source.csv" "$d/details.txt"  # a call brings back eight files
done
echo "end ($SECONDS s)"
