# seventy-first session, call 2 (the same H100, warm, 91 s): the variants' 64-key forms at D 128
# on lgc (kv_b/lgc, main's kernels after this session's landing), one round: the default
# (variants 32-key tiles, two m-tiles a warp), keys=64 (two m-tiles a warp), keys=64,m_tiles=1.
. scripts/gpu_env.sh >/dev/null 2>&1
export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/kv_b/lgc
for v in softcap=30 alibi plain; do
  for t in default keys=64 keys=64,m_tiles=1; do
    PAL_PREFILL_TUNING=$([ $t = default ] || echo $t) timeout 45 python3 scripts/prefill_sweep.py --dim 128 \
      --layouts nhd pal --rows 4x4096+0 4x1024+8192 --variant $v --label $(echo $t | tr -d =,) >> $O/wide.txt 2>&1
    echo "$v $t $SECONDS"
  done
done
python3 scripts/ab_verdict.py $O/wide.txt --baseline default --candidates keys64 keys64m_tiles1 | tee $O/verdict.txt
