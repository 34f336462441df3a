#!/bin/bash
# Twenty-second session, call 5: the Hopper prefill's producer issues an item's first K / V
# tile before it waits for Q (pq) against the tree's kernels (cur), A/B/A/B, fp8 rows once; then,
# if pq wins with the same bits, the whole suite and memcheck with PAL_KERNEL_DIR=kv_b/pq.
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
for r in 1 2; do
  if [ $r = 1 ]; then c="--save /tmp/pm"; else c="--compare /tmp/pm"; fi
  PAL_KERNEL_DIR=kv_b/cur timeout 60 $S --label main $c 2>&1 | tee -a "$O/ab.txt"
  PAL_KERNEL_DIR=kv_b/pq timeout 60 $S --label pq --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
done
F="python3 scripts/prefill_sweep.py --rows 16x1024+0 4x1024+8192 --kv-dtype float8_e4m3fn"
PAL_KERNEL_DIR=kv_b/cur timeout 40 $F --label main --save /tmp/pf 2>&1 | tee -a "$O/ab_fp8.txt"
PAL_KERNEL_DIR=kv_b/pq timeout 40 $F --label pq --compare /tmp/pf 2>&1 | tee -a "$O/ab_fp8.txt"
python3 scripts/ab_verdict.py "$O/ab.txt" --candidates pq --floor 0.97 --gain 1.01 | tee "$O/choice.txt"; echo "($SECONDS s)"
[ "$(head -1 "$O/choice.txt" | cut -d' ' -f1)" = suite ] || exit 0
export PAL_KERNEL_DIR=kv_b/pq
timeout 360 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite ($PAL_KERNEL_DIR) rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -10 "$O/suite.txt"
