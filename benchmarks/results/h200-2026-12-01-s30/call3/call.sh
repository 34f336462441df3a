#!/bin/bash
# Thirtieth session, call 3: the cluster merge where the grid has a CTA per SM at most (the
# rule after call 2) against the merge kernel (cluster=0), bits compared; 16 splits with the
# cluster at 1 x 32768 and MQA 1 x 4096 (min_split); the timer's floor (a one-kernel graph);
# then the whole suite and memcheck on the final form (with the fill's fp8 scales once a chunk).
. scripts/gpu_env.sh || exit 1
gunzip -c kv_b/s30/cuda_decode.gz > gpu-bundle/cuda_decode && chmod +x gpu-bundle/cuda_decode
S="python3 scripts/decode_sweep.py --rows 1x2048 1x4096 1x8192 1x16384 2x4096 8x4096 1x32768"
saved=$(mktemp -d)
{
PAL_DECODE_TUNING=cluster=0 timeout 150 $S --label merge --save $saved --flashinfer
timeout 100 $S --label cluster --compare $saved
PAL_DECODE_TUNING=cluster=0 timeout 100 $S --label merge --compare $saved
timeout 100 $S --label cluster --compare $saved
} > $O/ab.txt 2>&1
{
for r in 1; do
for t in min_split=2048 min_split=2048,cluster=0; do PAL_DECODE_TUNING=$t timeout 60 python3 scripts/decode_sweep.py --rows 1x32768 --label $t; done
for t in min_split=256 min_split=256,cluster=0 cluster=0; do PAL_DECODE_TUNING=$t timeout 60 python3 scripts/decode_sweep.py --layouts nhd --heads 32/1 --rows 1x4096 2x4096 --label $t; done
done
python3 - <<'PY'
import torch, triton.testing
x = torch.zeros(1, device="cuda")
def call():
    x.add_(1)
call()
g = torch.cuda.CUDAGraph()
with torch.cuda.stream(torch.cuda.Stream()), torch.cuda.graph(g):
    call()
for _ in range(2):
    print(f"floor: one-kernel graph {triton.testing.do_bench(g.replay, return_mode='median') * 1e3:.1f} us, eager {triton.testing.do_bench(call, return_mode='median') * 1e3:.1f} us")
PY
} > $O/extra.txt 2>&1
cat $O/ab.txt $O/extra.txt | grep -E "TB/s|ceiling|floor|rror" | sed 's/ hq32\/hkv8 d128 p16//'
echo "ab done $SECONDS s"
bash scripts/kernel_suite.sh crates/pal-core/kernels 360
echo "done $SECONDS s"
