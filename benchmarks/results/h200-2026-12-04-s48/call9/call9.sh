#!/bin/bash
# Session 48, call 9: the pal fill's values by whole pages where pages hold fewer slots than a
# 16-byte vector (kv_b/fv/pg: pages of 2 / 4 slots one 4- / 8-byte store a dim, not one store a
# token), against main at pages 2 / 4 / 8 / 16 / 64, pools checked against the CPU backend's.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
cp kv_b/call9.sh $O/
P=benchmarks/prepared/fill_probe.py
for page in 2 4 8 16 64; do
  for v in main pg; do
    lay=pal; [ $page = 16 ] && lay=pal,nhd
    PAL_KERNEL_DIR=kv_b/fv/$v timeout 60 python3 $P --label $v-p$page --page $page --layouts $lay --tokens 32768,4096 --check
  done
done 2>&1 | grep -E "RES|check|rror" > $O/pg.txt
grep -v check $O/pg.txt | grep -v " copy "; grep -c equal $O/pg.txt; grep -E "DIFF|rror" $O/pg.txt
echo "call done $SECONDS s"
