"""FlashInfer's FA3 paged prefill on one lab row (bf16, HQ 32 / HKV 8, D 128, page 16, causal,
pages in random order), run three times for ncu (`--launch-skip 2 --launch-count 1`)."""
import sys
import flashinfer
import torch

row = sys.argv[1] if len(sys.argv) > 1 else "16x1024+0"
head, history = row.split("+")
batch, prompt = (int(x) for x in head.split("x"))
length, hq, hkv, dim, page = int(history) + prompt, 32, 8, 128, 16
g = torch.Generator(device="cuda").manual_seed(1)
per_seq = -(-length // page)
pages = batch * per_seq
pool = [torch.randn(pages, page, hkv, dim, generator=g, device="cuda").bfloat16() for _ in range(2)]
indices = torch.randperm(pages, generator=g, device="cuda").int()
indptr = torch.arange(batch + 1, dtype=torch.int32, device="cuda") * per_seq
last = torch.full((batch,), (length - 1) % page + 1, dtype=torch.int32, device="cuda")
qo_indptr = torch.arange(batch + 1, dtype=torch.int32, device="cuda") * prompt
q = torch.randn(batch * prompt, hq, dim, generator=g, device="cuda").to(torch.bfloat16)
workspace = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
wrapper = flashinfer.BatchPrefillWithPagedKVCacheWrapper(workspace, "NHD", backend="fa3")
wrapper.plan(qo_indptr, indptr, indices, last, hq, hkv, dim, page, causal=True, q_data_type=torch.bfloat16)
for _ in range(3):
    wrapper.run(q, (pool[0], pool[1]))
torch.cuda.synchronize()
