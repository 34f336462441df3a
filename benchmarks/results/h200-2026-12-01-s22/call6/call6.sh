#!/bin/bash
# Twenty-second session, call 6: the benchmark lab (decode, prefill, fill; every peer in the
# bundle) on the wheel of the session's final kernels, both layouts, JSON and plots; then MQA
# and fp8 decode rows beside FlashInfer (decode_sweep).
. scripts/gpu_env.sh || exit 1
timeout 240 python3 -m proxy_attention_lab.bench --layout pal --out "$O/lab-pal" > "$O/lab-pal.txt" 2>&1; echo "pal rc $? ($SECONDS s)"
tail -45 "$O/lab-pal.txt"
timeout 200 python3 -m proxy_attention_lab.bench --layout nhd --out "$O/lab-nhd" > "$O/lab-nhd.txt" 2>&1; echo "nhd rc $? ($SECONDS s)"
tail -45 "$O/lab-nhd.txt"
[ $SECONDS -lt 480 ] && timeout 60 python3 scripts/decode_sweep.py --rows 1x4096 2x4096 8x4096 --heads 32/1 --flashinfer --label mqa 2>&1 | tee "$O/mqa.txt"
[ $SECONDS -lt 520 ] && timeout 60 python3 scripts/decode_sweep.py --rows 8x4096 32x4096 --kv-dtype float8_e4m3fn --flashinfer --label fp8 2>&1 | tee "$O/fp8.txt"
echo "end ($SECONDS s)"
