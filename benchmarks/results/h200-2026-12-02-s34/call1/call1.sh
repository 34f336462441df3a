#!/bin/bash
# Session 34 call 1: decode_rows with key-group scores, copy plans and lazy rescale (PAL_KERNEL_DIR)
# against main's embedded kernel: float32 decode tests, then alternating timing rounds.
. scripts/gpu_env.sh || exit 1
NEW=$PWD/crates/pal-core/kernels
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
par=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")
PAL_KERNEL_DIR=$NEW timeout 200 python3 -m pytest -q -p no:cacheprovider $par tests -k "float32 and decode" > $O/pytest.txt 2>&1
echo "pytest rc $? ($SECONDS s)"; tail -2 $O/pytest.txt; grep -E "^FAILED" $O/pytest.txt | head -20
ROWS="1x4096 8x4096 32x4096 64x4096 128x2048"
for r in 1 2; do
  (unset PAL_KERNEL_DIR; timeout 60 python3 scripts/decode_sweep.py --dtype float32 --rows $ROWS --label main > $O/main$r.txt 2>&1)
  PAL_KERNEL_DIR=$NEW timeout 60 python3 scripts/decode_sweep.py --dtype float32 --rows $ROWS --label new > $O/new$r.txt 2>&1
  echo "round $r ($SECONDS s)"
done
(unset PAL_KERNEL_DIR; timeout 100 python3 scripts/decode_sweep.py --dtype float32 --rows 32x4096 --extra --label main > $O/main_extra.txt 2>&1)
PAL_KERNEL_DIR=$NEW timeout 100 python3 scripts/decode_sweep.py --dtype float32 --rows 32x4096 --extra --label new > $O/new_extra.txt 2>&1
for h in 32/1 64/8 32/32; do
  (unset PAL_KERNEL_DIR; timeout 40 python3 scripts/decode_sweep.py --dtype float32 --heads $h --rows 1x4096 8x4096 32x4096 --label main > $O/main_h${h/\//-}.txt 2>&1)
  PAL_KERNEL_DIR=$NEW timeout 40 python3 scripts/decode_sweep.py --dtype float32 --heads $h --rows 1x4096 8x4096 32x4096 --label new > $O/new_h${h/\//-}.txt 2>&1
done
for f in $O/main1.txt $O/new1.txt $O/main2.txt $O/new2.txt $O/main_extra.txt $O/new_extra.txt $O/*_h*.txt; do echo "== $f"; grep -E "TB/s|rror" $f | head -30; done
echo "done $SECONDS s"
