# Call 3: the landed form (call 2's bundle and kernels): each variant beside plain attention at
# D 128 / 64 / 256, and D 96's variants on 32-key tiles (`keys=32`) against the new default (64).
. scripts/gpu_env.sh >/dev/null 2>&1; export PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
for d in 96 128 64 256; do for v in plain softcap=30 alibi window=1024; do for t in default keys=32; do
  [ $d != 96 ] && [ $t != default ] && continue; [ $d = 96 ] && [ $v = plain ] && continue
  PAL_PREFILL_PATH=portable PAL_PREFILL_TUNING=$([ $t = default ] || echo $t) timeout 60 python3 scripts/prefill_sweep.py \
    --dim $d --layouts nhd pal --rows 4x4096+0 4x1024+8192 --variant $v --label $(echo $t | tr -d =) >> $O/landed.txt 2>&1
done; done; echo "d$d $SECONDS"; [ $SECONDS -gt 300 ] && break; done
