#!/bin/bash
# Session 34 call 3: decode_rows with page ids 4 tiles ahead and a 128-byte-aligned ring (new
# wheel, kv_b/s34/new) against main's wheel: float32 decode tests, alternating rounds, ncu.
. scripts/gpu_env.sh || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site_new kv_b/s34/new/*.whl || exit 1
MAIN=/tmp/site; NEW=/tmp/site_new:/tmp/site
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
PYTHONPATH=$NEW timeout 200 python3 -m pytest -q -p no:cacheprovider $par tests -k "float32 and decode" > $O/pytest.txt 2>&1
echo "pytest rc $? ($SECONDS s)"; tail -1 $O/pytest.txt; grep -E "^FAILED" $O/pytest.txt | head -20
sweep() { local v=$1; shift; local pp=$MAIN; [ $v = new ] && pp=$NEW
  PYTHONPATH=$pp timeout 60 python3 scripts/decode_sweep.py --dtype float32 --label $v "$@" >> $O/rows.txt 2>&1; }
for r in 1 2; do
  for v in main new; do
    sweep $v --rows 1x4096 8x4096 32x4096 64x4096
    for d in 64 96 256; do sweep $v --rows 32x4096 --dim $d; done
    for pg in 1 4 128; do sweep $v --rows 32x4096 --page $pg; done
  done
  echo "round $r ($SECONDS s)"
done
for v in main new; do sweep $v --rows 8x4096 32x4096 --heads 32/1; sweep $v --rows 32x4096 --heads 32/32; done
grep -E "TB/s|rror" $O/rows.txt | sed -E "s/hq32.hkv8 //; s/, eager.*//"
for c in "nhd 128" "nhd 64" "pal 128"; do
  set -- $c
  PYTHONPATH=$NEW timeout 100 python3 scripts/ncu_report.py decode --dtype float32 --layout $1 --dim $2 --row 32x4096 \
    --out $O/ncu-$1-$2 > $O/ncu-$1-$2.txt 2>&1
  echo "== ncu $c ($SECONDS s)"; head -14 $O/ncu-$1-$2.txt | cut -c1-160; grep -A7 "warp stall samples" $O/ncu-$1-$2.txt
done
rm -rf $O/ncu-*/
echo "done $SECONDS s"
