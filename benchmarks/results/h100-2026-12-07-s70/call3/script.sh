# The seventieth session's call 3, as typed (after `. scripts/gpu_env.sh` and call 2's `variant lgc`):
# plain, soft-cap 30 and ALiBi at D 192 and D 128 on main's kernels and lgc's, one round.
export PAL_PREFILL_PATH=portable
for dim in 192 128; do for k in crates/pal-core/kernels kv_b/lgc; do for v in plain softcap=30 alibi; do
  PAL_KERNEL_DIR=$k timeout 40 python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal --rows 4x4096+0 4x1024+8192 \
    --variant $v --label "$(basename $k)-${v%%=*}" 2>&1 | grep TFLOP | tee -a $O/lgc_dims.txt
done; done; done
