"""torch CPU tensors in and out, zero-copy and in place (skipped where torch is absent; the GPU
machine has it)."""

import numpy as np
import proxy_attention_lab as pal
import pytest
from reference import assert_close, decode_reference, paged_cache, prefill_reference, random

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_torch_cpu_tensors(rng, dtype):
    cache = paged_cache(rng, [33, 120], 2, 64, 8, dtype, "pal")
    tdtype = getattr(torch, dtype)

    def to_torch(a):
        return torch.from_numpy(np.asarray(a, np.float32)).to(tdtype)

    queries = random(rng, (2, 8, 64), dtype)
    k_cache, v_cache = to_torch(cache.k_cache), to_torch(cache.v_cache)
    table, lens = torch.from_numpy(cache.page_table), torch.from_numpy(cache.lens)
    out = pal.paged_attention_decode(to_torch(queries), k_cache, v_cache, table, lens)
    assert isinstance(out, torch.Tensor) and out.dtype == tdtype and out.device.type == "cpu"
    assert_close(out.float().numpy(), decode_reference(queries, cache), dtype)

    q = random(rng, (10, 8, 64), dtype)
    k, v = random(rng, (10, 2, 64), dtype), random(rng, (10, 2, 64), dtype)
    cu = torch.tensor([0, 4, 10], dtype=torch.int32)
    out = torch.empty(10, 8, 64, dtype=tdtype)
    result = pal.paged_attention_prefill(
        to_torch(q), to_torch(k), to_torch(v), k_cache, v_cache, table, lens, cu, out=out
    )
    assert result is out
    assert_close(out.float().numpy(), prefill_reference(q, k, v, cache, [0, 4, 10]), dtype)

    address = k_cache.data_ptr()
    slots = torch.tensor([0, 1], dtype=torch.int32)
    new = to_torch(random(rng, (2, 2, 64), dtype))
    pal.fill_kv_pages(new, new, k_cache, v_cache, slot_mapping=slots)
    assert k_cache.data_ptr() == address
    assert torch.equal(v_cache[0, :, :, 0], new[0])


def test_torch_non_contiguous_is_rejected(rng):
    cache = paged_cache(rng, [5], 1, 32, 8, "float32", "nhd")
    queries = torch.zeros(1, 32, 2).transpose(1, 2)
    with pytest.raises(ValueError, match="queries"):
        pal.paged_attention_decode(
            queries, torch.from_numpy(cache.k_cache), torch.from_numpy(cache.v_cache),
            torch.from_numpy(cache.page_table), torch.from_numpy(cache.lens), layout="nhd",
        )  # fmt: skip
