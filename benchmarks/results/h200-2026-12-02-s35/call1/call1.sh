#!/bin/bash
# Prepared in the thirty-fourth session: two calls of about eight and six minutes.
#   bash benchmarks/prepared/next_call.sh ab      # A/B rounds, FlashInfer once
#   bash benchmarks/prepared/next_call.sh suite [ids|batch]   # the whole suite and memcheck on the winner
# "ids": the tensor-core decode with its page ids read four tiles before their copies, in a
# register queue whose loop is unrolled by its depth (decode-ids-ahead.patch), and the float32
# decode's loop unrolled likewise (rows-ids-unroll.patch; its queue's moves waited on the newest
# load): the same bits as main. Against main's kernels: bf16, fp8 and float32 rows, two
# alternating rounds each (scripts/ab_rounds.sh), FlashInfer's bf16 rows once.
# Why: ncu of main (thirty-fourth session, call 6) put half of the warps' stall samples on long
# scoreboards at the page id's check (bf16 nhd 32 x 4096, pal 8 x 4096).
# "batch": the tensor-core decode's ids in batches of 32 tiles, a lane each, one shuffle a tile
# (decode-ids-batch.patch; pages of 16 slots or more, no unrolling), the same bits as main.
# "p4": the float32 decode's ring 64 bytes off a line for pal pages of 4 only
# (rows-pal4-offset.patch; v19's offset ran that row 1.07x faster, the other rows 0.95x).
# Carry: gpu-bundle (a wheel of main) and kv_b (its fi_cache.tgz).
. scripts/gpu_env.sh || exit 1
rm -rf kv_b/mainK kv_b/ids kv_b/batch kv_b/p4
for v in mainK ids batch p4; do cp -r crates/pal-core/kernels kv_b/$v; done
patch -s -p4 -d kv_b/batch < benchmarks/prepared/decode-ids-batch.patch || exit 1
for f in decode-ids-ahead rows-ids-unroll; do patch -s -p4 -d kv_b/ids < benchmarks/prepared/$f.patch || exit 1; done
patch -s -p4 -d kv_b/p4 < benchmarks/prepared/rows-pal4-offset.patch || exit 1
if [ "${1:-ab}" = ab ]; then
  timeout 90 python3 scripts/decode_sweep.py --flashinfer --rows 1x4096 8x4096 32x4096 1x32768 --label main > $O/fi.txt 2>&1
  grep -E "TB/s|rror" $O/fi.txt
  ROUNDS=2 bash scripts/ab_rounds.sh $O/bf16.txt "python3 scripts/decode_sweep.py --rows 1x4096 8x4096 32x4096 1x32768" mainK ids batch > /dev/null
  ROUNDS=2 bash scripts/ab_rounds.sh $O/fp8.txt "python3 scripts/decode_sweep.py --kv-dtype float8_e4m3fn --rows 8x4096 32x4096" mainK ids batch > /dev/null
  ROUNDS=2 bash scripts/ab_rounds.sh $O/f32.txt "python3 scripts/decode_sweep.py --dtype float32 --rows 8x4096 32x4096 64x4096" mainK ids > /dev/null
  ROUNDS=2 bash scripts/ab_rounds.sh $O/p4.txt "python3 scripts/decode_sweep.py --dtype float32 --layouts pal --page 4 --rows 8x4096 32x4096" mainK p4 > /dev/null
  cat $O/bf16.txt.verdict $O/fp8.txt.verdict $O/f32.txt.verdict $O/p4.txt.verdict
  # (one file of all rounds: a call returns at most eight files)
  for f in bf16 fp8 f32 p4; do cat $O/$f.txt $O/$f.txt.verdict >> $O/ab.txt && rm $O/$f.txt $O/$f.txt.verdict; done
  echo "ab done $SECONDS s"
else
  # (a winning p4 joins it first: patch -s -p4 -d kv_b/$2 < benchmarks/prepared/rows-pal4-offset.patch)
  bash scripts/kernel_suite.sh kv_b/${2:-ids} 400
fi
