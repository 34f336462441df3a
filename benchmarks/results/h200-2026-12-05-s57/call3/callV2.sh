. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.limit --format=csv,noheader
cp scripts/variant_sweep.py "$O/"
export PAL_KERNEL_DIR=kv_b/st
timeout 300 python3 scripts/variant_sweep.py --ops prefill --rounds 7 --prompts 4x1024+8192 8x512+4096 4x4096+0 \
  > "$O/variants_prefill.txt" 2>&1; echo "prefill rc $? ($SECONDS s)"
sed -n '/^| case/,$p' "$O/variants_prefill.txt"
left=$((450 - SECONDS)); [ $left -gt 40 ] && timeout $left python3 scripts/variant_sweep.py --ops decode --rounds 5 \
  > "$O/variants_decode.txt" 2>&1; echo "decode rc $? ($SECONDS s)"
sed -n '/^| case/,$p' "$O/variants_decode.txt"
