. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
cp scripts/prefill_sweep.py "$O/"
# issue 13's rows beside FlashInfer's FA3 path, PAL's graph and FA3 timed in turn, five rounds a row
PAL_KERNEL_DIR=kv_b/st timeout 400 python3 scripts/prefill_sweep.py --rounds 5 --flashinfer fa3 \
  --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 4x2048+8192 --layouts nhd pal --label main \
  > "$O/table_rounds.txt" 2>&1; echo "table rc $? ($SECONDS s)"
grep -E "TFLOP|rror" "$O/table_rounds.txt" | cut -c26-
