. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
# the landed kernels (main + the soft-capped turn): prefill with each variant beside plain
PAL_KERNEL_DIR=kv_b/st timeout 150 python3 scripts/variant_sweep.py --ops prefill --variants soft-cap > "$O/variants.txt" 2>&1
echo "variants rc $? ($SECONDS s)"; grep "^|" "$O/variants.txt" | tail -16
# ncu: pal against nhd, plain (the S wait) at 4 x 1024 over 8192
for layout in pal nhd; do
  PAL_KERNEL_DIR=kv_b/st timeout 170 python3 scripts/ncu_report.py prefill --layout $layout \
    --row 4x1024+8192 --out /tmp/ncu-$layout > "$O/ncu-$layout.txt" 2>&1
  echo "ncu $layout rc $? ($SECONDS s)"
  [ -f /tmp/ncu-$layout/source.csv ] && gzip -c /tmp/ncu-$layout/source.csv > "$O/ncu-$layout-source.csv.gz"
done
head -60 "$O/ncu-pal.txt"
left=$((550 - SECONDS))
[ $left -gt 40 ] && PAL_KERNEL_DIR=kv_b/ps timeout $left python3 benchmarks/prepared/prefill_stamps.py \
  --rows 4x1024+8192 --layouts nhd pal 2>&1 | tee "$O/stamps.txt" | tail -30
echo "done ($SECONDS s)"
