#!/usr/bin/env bash
# A call script for the GPU machine: builds FlashInfer's JIT kernels for the lab's peer rows (its
# first compile takes minutes per machine) and returns them as $OUT/fi_cache.tgz, which later
# calls carry as kv_b/fi_cache.tgz (`scripts/gpu_env.sh` restores it). Each step is timed out and
# failures are tolerated: what was built is packed either way.
#   bash scripts/flashinfer_cache.sh      (carry gpu-bundle; move fi_cache.tgz to kv_b/ after)
# shellcheck disable=SC1091
. scripts/gpu_env.sh || exit 1
python3 -c 'import flashinfer' || exit 1
# Decode (bf16 and fp8 e4m3, the lab's head dims), prefill (FA2 and FA3), the fill's append.
timeout 300 python3 scripts/decode_sweep.py --flashinfer --layouts nhd --rows 1x4096 > "$O/fi_decode.txt" 2>&1
timeout 120 python3 scripts/decode_sweep.py --flashinfer --layouts nhd --rows 1x4096 --kv-dtype float8_e4m3fn \
  >> "$O/fi_decode.txt" 2>&1
# MQA (a group of 32: FlashInfer's kernels for it compile apart; issue 11's MQA rows).
timeout 180 python3 scripts/decode_sweep.py --flashinfer --layouts nhd --rows 1x4096 --heads 32/1 >> "$O/fi_decode.txt" 2>&1
for dim in 64 256; do
  timeout 120 python3 scripts/decode_sweep.py --flashinfer --layouts nhd --rows 1x4096 --dim "$dim" >> "$O/fi_decode.txt" 2>&1
done
timeout 300 python3 scripts/prefill_sweep.py --flashinfer fa2 fa3 --layouts nhd --rows 1x1024+0 1x512+4096 \
  > "$O/fi_prefill.txt" 2>&1
timeout 120 python3 -m proxy_attention_lab.bench --ops fill --fill 4096 --no-plots --out /tmp/fi-bench > "$O/fi_fill.txt" 2>&1
grep -hE "TB/s|TFLOP/s|rror" "$O"/fi_*.txt | tail -20
tar czf "$O/fi_cache.tgz" -C ~/.cache flashinfer && ls -la "$O/fi_cache.tgz"
echo "done $SECONDS s"
