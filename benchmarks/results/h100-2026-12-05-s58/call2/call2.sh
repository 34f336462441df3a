. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,driver_version --format=csv,noheader
bash benchmarks/prepared/next_calls.sh prescaled-d256
bash benchmarks/prepared/next_calls.sh prescaled-poly
# the lab's rounds path on CUDA, first run on a GPU (FlashInfer's decode JIT: its first compile here)
PAL_KERNEL_DIR=kv_b/st timeout $((570 - SECONDS)) python3 -m proxy_attention_lab.bench --device cuda --ops decode prefill \
  --decode 8x4096 32x4096 --prefill 4x1024+8192 --layout nhd --rounds 3 --no-plots --out "$O/lab" > "$O/lab.txt" 2>&1
echo "lab rc $? ($SECONDS s)"; tail -25 "$O/lab.txt"
