#!/bin/bash
# Twenty-second session, call 9 (timing only; no suite left in the session's device time): the
# Hopper producer asks for its next item one (cl1) or two (cl2) tiles before its item's last is
# issued, instead of after, against main's kernels (cur); A/B/C twice.
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 16x1024+0 1x4096+0 4x1024+8192 8x512+4096 4x128+32768"
for r in 1 2; do
  if [ $r = 1 ]; then c="--save /tmp/pm"; else c="--compare /tmp/pm"; fi
  PAL_KERNEL_DIR=kv_b/cur timeout 40 $S --label main $c 2>&1 | tee -a "$O/ab.txt"
  for v in cl1 cl2; do PAL_KERNEL_DIR=kv_b/$v timeout 40 $S --label $v --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"; done
done
python3 scripts/ab_verdict.py "$O/ab.txt" --candidates cl1 cl2 --floor 0.97 --gain 1.01 | tee "$O/choice.txt"; echo "end ($SECONDS s)"
