#!/bin/bash
# Session 34 call 5 (not landed: timing only): pal rings 64 bytes off a line again (the v19
# offset, which had no excess shared wavefronts) against the landed form; then FlashInfer's
# decode JIT cache, packed whatever was built.
. scripts/gpu_env.sh || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site_new kv_b/s34/new/*.whl || exit 1
export PYTHONPATH=/tmp/site_new:/tmp/site
VAR=$PWD/kv_b/s34/var
sweep() { local v=$1; shift
  if [ $v = var ]; then PAL_KERNEL_DIR=$VAR timeout 60 python3 scripts/decode_sweep.py --dtype float32 --layouts pal --label $v "$@" >> $O/rows.txt 2>&1
  else timeout 60 python3 scripts/decode_sweep.py --dtype float32 --layouts pal --label $v "$@" >> $O/rows.txt 2>&1; fi; }
for r in 1 2; do
  for v in landed var; do sweep $v --rows 8x4096 32x4096 64x4096; sweep $v --rows 32x4096 --page 4; sweep $v --rows 32x4096 --dim 64; done
  echo "round $r ($SECONDS s)"
done
grep -E "TB/s|rror" $O/rows.txt | sed -E "s/hq32.hkv8 //; s/, eager.*//"
timeout 200 python3 scripts/decode_sweep.py --flashinfer --layouts nhd --rows 1x4096 > $O/fi_decode.txt 2>&1
echo "fi rc $? ($SECONDS s)"; grep -E "TB/s|rror" $O/fi_decode.txt | tail -3
tar czf "$O/fi_cache.tgz" -C ~/.cache flashinfer && ls -la "$O/fi_cache.tgz"
echo "done $SECONDS s"
