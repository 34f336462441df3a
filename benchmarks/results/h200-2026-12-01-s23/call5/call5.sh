#!/bin/bash
# Twenty-third session, call 5: pp (nhd / hnd history tiles: a page id and one address product
# per page, not per key) A/B/A/B against main's kernels (same bits asked), page sizes and hnd
# once; then the whole suite and memcheck with PAL_KERNEL_DIR at the form to land: pp + rd (the
# soft-cap weights from reciprocals, call 1) if pp wins, else rd alone; the variant sweep of it.
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 16x1024+0 4x1024+8192 8x512+4096 1x512+32768 4x128+32768"
for round in 1 2; do
  for v in mainK pp; do
    lab=$v; [ $v = mainK ] && lab=main
    if [ $round = 1 ] && [ $v = mainK ]; then cmp="--save /tmp/pm"; else cmp="--compare /tmp/pm"; fi
    PAL_KERNEL_DIR=kv_b/$v timeout 100 $S --label $lab $cmp 2>&1 | tee -a "$O/ab.txt"
  done
done
python3 scripts/ab_verdict.py "$O/ab.txt" --candidates pp --floor 0.97 --gain 1.01 | tee "$O/choice.txt"
F="python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts nhd hnd"
for opt in "--page 8" "--page 32" "--page 128" "--dim 64" "--page 16"; do
  tag=$(echo $opt | tr -d ' -')
  PAL_KERNEL_DIR=kv_b/mainK timeout 40 $F $opt --label main --save /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
  PAL_KERNEL_DIR=kv_b/pp timeout 40 $F $opt --label pp --compare /tmp/p$tag 2>&1 | tee -a "$O/ab_more.txt"
done
land=rd; grep -q "^suite pp" "$O/choice.txt" && land=pprd
echo "suite on $land ($SECONDS s)" | tee "$O/suite.txt"
PAL_KERNEL_DIR=kv_b/$land timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests >> "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -14 "$O/suite.txt"
PAL_KERNEL_DIR=kv_b/$land timeout 60 python3 scripts/variant_sweep.py --ops prefill 2>&1 | tail -14 | tee "$O/variants.txt"
echo "end ($SECONDS s)"
