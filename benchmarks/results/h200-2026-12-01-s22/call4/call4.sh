#!/bin/bash
# Twenty-second session, call 4 (diagnostic): why the Hopper prefill's pal build runs prompt-only
# rows ~5% slower than nhd although no pool is read there. palnb = the tree's kernels with the
# consumers' pal history forms (pool-order K, [dim][key] V) switched off at compile time (wrong
# on history tiles: prompt-only rows only). Then ncu of the tree's kernel at 16 x 1024, pal and nhd.
. scripts/gpu_env.sh || exit 1
S="python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0"
PAL_KERNEL_DIR=kv_b/cur timeout 60 $S --layouts pal nhd --label cur --save /tmp/c 2>&1 | tee -a "$O/ab.txt"
for r in 1 2; do
  PAL_KERNEL_DIR=kv_b/palnb timeout 60 $S --layouts pal --label palnb --compare /tmp/c 2>&1 | tee -a "$O/ab.txt"
  PAL_KERNEL_DIR=kv_b/cur timeout 60 $S --layouts pal nhd --label cur --compare /tmp/c 2>&1 | tee -a "$O/ab.txt"
done
echo "ab done ($SECONDS s)"
for l in pal nhd; do
  PAL_KERNEL_DIR=kv_b/cur timeout 150 python3 scripts/ncu_report.py prefill --layout $l --row 16x1024+0 --out "/tmp/$l" > "$O/$l.txt" 2>&1
  echo "== $l rc $? ($SECONDS s)"; head -14 "$O/$l.txt"
  gzip -c "/tmp/$l/source.csv" > "$O/$l-source.csv.gz"
done
echo "end ($SECONDS s)"
