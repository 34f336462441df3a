"""torch CPU tensors in and out, zero-copy and in place (skipped where torch is absent; the GPU
machine has it)."""

import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import (
    assert_close,
    decode_reference,
    from_torch,
    paged_cache,
    prefill_reference,
    random_array,
    random_prompts,
    to_torch,
)

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_torch_cpu_tensors(rng, dtype):
    cache = paged_cache(rng, [33, 120], 2, 64, 8, dtype, "pal")
    torch_dtype = getattr(torch, dtype)

    def cpu(array):
        return to_torch(array, "cpu")

    queries = random_array(rng, (2, 8, 64), dtype)
    k_cache, v_cache = cpu(cache.k_cache), cpu(cache.v_cache)
    table, lens = cpu(cache.page_table), cpu(cache.lens)
    out = pal.paged_attention_decode(cpu(queries), k_cache, v_cache, table, lens)
    assert isinstance(out, torch.Tensor) and out.dtype == torch_dtype and out.device.type == "cpu"
    assert_close(from_torch(out), decode_reference(queries, cache), dtype)

    q, k, v, cu = random_prompts(rng, [4, 6], 8, 2, 64, dtype)
    out = torch.empty(10, 8, 64, dtype=torch_dtype)
    result = pal.paged_attention_prefill(
        cpu(q), cpu(k), cpu(v), k_cache, v_cache, table, lens, cpu(cu), out=out
    )
    assert result is out
    assert_close(from_torch(out), prefill_reference(q, k, v, cache, cu), dtype)

    address = k_cache.data_ptr()
    slots = torch.tensor([0, 1], dtype=torch.int32)
    new = cpu(random_array(rng, (2, 2, 64), dtype))
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


def test_torch_subclasses_views_and_grad_read_like_plain_tensors(rng):
    """Plain tensors are read through torch's DLPack exchange table (torch 2.10+); parameters
    (a subclass), tensors that require grad, views at an offset and a pool behind a sliced storage
    take the same values either way, and a dtype PAL does not read is named as torch names it."""
    cache = paged_cache(rng, [40, 17], 2, 64, 8, "float32", "nhd")
    queries = random_array(rng, (2, 8, 64), "float32")
    expected = decode_reference(queries, cache)

    def cpu(array):
        return to_torch(array, "cpu")

    table, lens = cpu(cache.page_table), cpu(cache.lens)
    k, v = cpu(cache.k_cache), cpu(cache.v_cache)
    padded = torch.zeros(3, *queries.shape)
    padded[1] = cpu(queries)
    variants = [
        torch.nn.Parameter(cpu(queries), requires_grad=False),
        cpu(queries).requires_grad_(True),
        padded[1],  # a view at an offset into a larger storage
    ]
    for q in variants:
        out = pal.paged_attention_decode(q, k, v, table, lens, layout="nhd")
        assert_close(from_torch(out.detach()), expected, "float32")
    pools = torch.zeros(2, *cache.k_cache.shape), torch.zeros(2, *cache.v_cache.shape)
    pools[0][1], pools[1][1] = k, v
    out = pal.paged_attention_decode(cpu(queries), pools[0][1], pools[1][1], table, lens, layout="nhd")
    assert_close(from_torch(out), expected, "float32")
    with pytest.raises(TypeError, match="float64"):
        pal.paged_attention_decode(cpu(queries).double(), k, v, table, lens, layout="nhd")


def test_torch_int64_entries_beyond_int32_are_reported_as_given(rng):
    # CPU tensors are narrowed to int32 like numpy arrays; a bad entry reads as it was given.
    cache = paged_cache(rng, [20, 5], 1, 64, 16, "float32", "pal")
    queries = torch.from_numpy(random_array(rng, (2, 2, 64), "float32"))
    pools = (torch.from_numpy(cache.k_cache), torch.from_numpy(cache.v_cache))
    table = torch.from_numpy(cache.page_table).to(torch.int64)
    table[1, 0] = 2**40 + 1
    with pytest.raises(pal.PalValueError, match=r"`page_table\[1, 0\]`.*got 1099511627777$"):
        pal.paged_attention_decode(queries, *pools, table, torch.from_numpy(cache.lens).to(torch.int64))
