#!/bin/bash
# Forty-fourth session, call 2: decode_mma's page ids checked an iteration after their load
# (kv_b/pq) against main with the fp8 box offsets (kv_b/fp8v), two rounds over bf16 / fp8 /
# MQA / head dim 64 rows (each config's verdict: GAIN 0, so "suite" = no row under 0.97 and the
# same bits); then memcheck on pq where every config passed that, else on fp8v.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
S="python3 scripts/decode_sweep.py"
ok=1
run() {  # name, sweep args
  local name=$1; shift
  GAIN=0 bash scripts/ab_rounds.sh "$O/ab-$name.txt" "$S $*" fp8v pq > /dev/null 2>&1
  mv "$O/ab-$name.txt.verdict" "$O/verdict-$name.txt"
  echo "== $name ($SECONDS s)"; cat "$O/verdict-$name.txt"
  head -1 "$O/verdict-$name.txt" | grep -q "^suite" || ok=0
}
run bf16 --layouts pal nhd --rows 1x4096 8x4096 32x4096 1x32768
run fp8p16 --layouts pal nhd --kv-dtype float8_e4m3fn --rows 8x4096 32x4096 1x32768
run fp8p32 --layouts pal --kv-dtype float8_e4m3fn --page 32 --rows 8x4096 32x4096 1x32768
run mqa --layouts pal nhd --heads 32/1 --rows 1x4096 8x4096
run d64 --layouts pal nhd --dim 64 --rows 32x4096
run hnd96 --layouts hnd nhd --dim 96 --rows 32x4096
grep -h "TB/s" "$O"/ab-*.txt | sed 's/hq32.hkv8 //' | awk '{print $1,$2,$3,$4,$5,$6,$7,$8,$9}' > "$O/rates.txt"
dir=kv_b/fp8v; [ $ok = 1 ] && dir=kv_b/pq
echo "== memcheck on $dir from $SECONDS s"
bash scripts/kernel_suite.sh $dir $((590 - SECONDS)) memcheck
echo "call done $SECONDS s"
