#!/bin/bash
# Session 38, call 1: K in registers (kreg) and early K (ek) against main's wgmma decode (m0),
# groups of 16 on wgmma (wheel: g16 + split floor) against wgmma=0, the TF32 split floor, ncu.
. scripts/gpu_env.sh || exit 1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
for v in kreg ek; do
  PAL_KERNEL_DIR=kv_b/$v PAL_DECODE_TUNING=wgmma=1 timeout 100 python3 kv_b/tf32_probe.py 128 > $O/probe_${v}_128.txt 2>&1; el "$v: $(tail -1 $O/probe_${v}_128.txt | cut -c1-200)"
done
PAL_KERNEL_DIR=kv_b/kreg PAL_DECODE_TUNING=wgmma=1 timeout 80 python3 kv_b/tf32_probe.py 64 > $O/probe_kreg_64.txt 2>&1; el "kreg64: $(tail -1 $O/probe_kreg_64.txt | cut -c1-200)"
timeout 120 python3 -m pytest -q -x tests/test_cuda.py -k "large_groups" -p no:cacheprovider 2>&1 | tail -3; el pytest-g16
sweep() { timeout 60 python3 scripts/decode_sweep.py --dtype float32 "$@" 2>&1 | grep -E "kernel |Error" | cut -c1-220; }
R="--heads 32/1 --rows 32x4096 64x4096 128x2048 --layouts nhd pal"
for round in 1 2; do
  c="--compare $O/m"; [ $round = 1 ] && c="--save $O/m"
  PAL_KERNEL_DIR=kv_b/m0 sweep $R --label r$round-m0 $c
  for v in kreg ek; do PAL_KERNEL_DIR=kv_b/$v sweep $R --label r$round-$v --compare $O/m; done
done 2>&1 | tee $O/sweep.txt; el sweep
{ D="--heads 32/1 --rows 32x4096 64x4096 --dim 64"
  PAL_KERNEL_DIR=kv_b/m0 sweep $D --label d64-m0 --save $O/m64
  PAL_KERNEL_DIR=kv_b/kreg sweep $D --label d64-kreg --compare $O/m64
  P="--heads 64/1 --rows 32x4096 --page 1"
  PAL_KERNEL_DIR=kv_b/m0 sweep $P --label p1-m0 --save $O/p1
  PAL_KERNEL_DIR=kv_b/kreg sweep $P --label p1-kreg --compare $O/p1
} 2>&1 | tee $O/sweep64.txt; el sweep64
{ for h in 32/2 64/4; do G="--heads $h --rows 16x4096 32x4096 64x4096 --layouts nhd pal"
  PAL_DECODE_TUNING=wgmma=0 sweep $G --label g16-off --save $O/g$h
  sweep $G --label g16-on --compare $O/g$h; done
  S="--heads 32/1 --rows 8x4096 1x32768 --layouts nhd pal"
  PAL_DECODE_TUNING=min_split=256 sweep $S --label floor256 --save $O/s
  sweep $S --label floor-new --compare $O/s
  PAL_DECODE_TUNING=min_split=256 sweep $S --label floor256b --compare $O/s
} 2>&1 | tee $O/sweep_g16.txt; el g16
PAL_KERNEL_DIR=kv_b/m0 timeout 150 python3 scripts/ncu_report.py decode --dtype float32 --heads 32/1 --layout nhd --row 64x4096 --out $O/ncu > $O/ncu_summary.txt 2>&1; el ncu
tail -45 $O/ncu_summary.txt | cut -c1-200
gzip -f $O/ncu/source.csv 2>/dev/null; rm -rf $O/m $O/m64 $O/p1 $O/g32 $O/g64 $O/s
ls -R $O | head
