"""Compiles FlashInfer's fp8-pool modules the lab uses (FA2 prefill with bf16 queries over e4m3
pools; decode over e4m3 pools, both paths), so that ~/.cache/flashinfer can travel."""
import time
import flashinfer
import torch

t0 = time.time()
ws = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
hq, hkv, d, page, pages, kv = 32, 8, 128, 16, 8, torch.float8_e4m3fn
k = torch.randn(pages, page, hkv, d, device="cuda").to(kv)
v = torch.randn(pages, page, hkv, d, device="cuda").to(kv)
indptr = torch.tensor([0, pages], dtype=torch.int32, device="cuda")
idx = torch.arange(pages, dtype=torch.int32, device="cuda")
last = torch.tensor([page], dtype=torch.int32, device="cuda")
qo = torch.tensor([0, 64], dtype=torch.int32, device="cuda")
w = flashinfer.BatchPrefillWithPagedKVCacheWrapper(ws, "NHD", backend="fa2")
w.plan(qo, indptr, idx, last, hq, hkv, d, page, causal=True, q_data_type=torch.bfloat16, kv_data_type=kv)
w.run(torch.randn(64, hq, d, device="cuda", dtype=torch.bfloat16), (k, v))
print("prefill fa2 e4m3", time.time() - t0, flush=True)
for tc in (False, True):
    try:
        w = flashinfer.BatchDecodeWithPagedKVCacheWrapper(ws, "NHD", use_tensor_cores=tc)
        w.plan(indptr, idx, last, hq, hkv, d, page, q_data_type=torch.bfloat16, kv_data_type=kv)
        w.run(torch.randn(1, hq, d, device="cuda", dtype=torch.bfloat16), (k, v))
        print("decode e4m3", tc, time.time() - t0, flush=True)
    except Exception as e:  # noqa: BLE001
        print("decode e4m3", tc, "failed:", str(e)[:300], flush=True)
torch.cuda.synchronize()
print("done", time.time() - t0)
