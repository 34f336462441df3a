#!/bin/bash
# Session 34 call 2: decode_rows (K then V copies for nhd) against main: float32 decode tests,
# alternating rounds over head dims and batch rows, ncu of nhd / pal at 32 x 4096 (HQ 32 and 64).
. scripts/gpu_env.sh || exit 1
NEW=$PWD/crates/pal-core/kernels
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
PAL_KERNEL_DIR=$NEW timeout 200 python3 -m pytest -q -p no:cacheprovider $par tests -k "float32 and decode" > $O/pytest.txt 2>&1
echo "pytest rc $? ($SECONDS s)"; tail -2 $O/pytest.txt; grep -E "^FAILED" $O/pytest.txt | head -20
sweep() {  # label, then sweep arguments
  local label=$1; shift
  if [ "$label" = main ]; then (unset PAL_KERNEL_DIR; timeout 60 python3 scripts/decode_sweep.py --dtype float32 --label main "$@")
  else PAL_KERNEL_DIR=$NEW timeout 60 python3 scripts/decode_sweep.py --dtype float32 --label new "$@"; fi
}
for r in 1 2; do
  for v in main new; do
    sweep $v --rows 8x4096 32x4096 64x4096 >> $O/rows.txt 2>&1
    for d in 64 96; do sweep $v --rows 32x4096 --dim $d >> $O/rows.txt 2>&1; done
  done
  echo "round $r ($SECONDS s)"
done
grep -E "TB/s|rror" $O/rows.txt
for c in "nhd 32/8" "nhd 64/8" "pal 32/8"; do
  set -- $c
  PAL_KERNEL_DIR=$NEW timeout 120 python3 scripts/ncu_report.py decode --dtype float32 --layout $1 --heads $2 --row 32x4096 \
    --out $O/ncu-$1-${2/\//-} > $O/ncu-$1-${2/\//-}.txt 2>&1
  echo "== ncu $c ($SECONDS s)"; head -40 $O/ncu-$1-${2/\//-}.txt
done
rm -f $O/ncu-*/source.csv
echo "done $SECONDS s"
