"""Compiles FlashInfer's bf16 decode modules (both paths) the lab uses, so the cache can travel."""
import time
import flashinfer
import torch

t0 = time.time()
ws = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
hq, hkv, d, page, pages = 32, 8, 128, 16, 8
for kv in (torch.bfloat16,):
    k = torch.randn(pages, page, hkv, d, device="cuda").to(kv)
    v = torch.randn(pages, page, hkv, d, device="cuda").to(kv)
    indptr = torch.tensor([0, pages], dtype=torch.int32, device="cuda")
    idx = torch.arange(pages, dtype=torch.int32, device="cuda")
    last = torch.tensor([page], dtype=torch.int32, device="cuda")
    for tc in (False, True):
        try:
            w = flashinfer.BatchDecodeWithPagedKVCacheWrapper(ws, "NHD", use_tensor_cores=tc)
            w.plan(indptr, idx, last, hq, hkv, d, page, q_data_type=torch.bfloat16, kv_data_type=kv)
            w.run(torch.randn(1, hq, d, device="cuda", dtype=torch.bfloat16), (k, v))
            print("decode", kv, tc, time.time() - t0, flush=True)
        except Exception as e:  # noqa: BLE001
            print("decode", kv, tc, "failed:", str(e)[:300], flush=True)
torch.cuda.synchronize()
print("done", time.time() - t0)
