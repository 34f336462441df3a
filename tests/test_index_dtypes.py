"""Index arguments (SPEC §3.4) may be int32 or int64 on every op: int64 (torch's default, vLLM's
`slot_mapping`) gives the same results, and int64 values outside int32 are bad entries, never
wrapped into valid ones."""

import re

import numpy as np
import proxy_attention_lab as pal
import pytest
from conftest import BareDLPack
from proxy_attention_lab.testing import paged_cache, random_array, random_prompts, to_torch


def wide(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, np.int64)


@pytest.mark.parametrize("layout", ["pal", "nhd"])
def test_decode_and_prefill_take_int64_indices(rng, layout):
    cache = paged_cache(rng, [40, 0, 17], 2, 64, 16, "float32", layout)
    queries = random_array(rng, (3, 4, 64), "float32")
    pools = (cache.k_cache, cache.v_cache)
    narrow = pal.paged_attention_decode(queries, *pools, cache.page_table, cache.lens, layout=layout)
    out = pal.paged_attention_decode(queries, *pools, wide(cache.page_table), wide(cache.lens), layout=layout)
    np.testing.assert_array_equal(out, narrow)
    q, k, v, cu = random_prompts(rng, [3, 1, 5], 4, 2, 64, "float32")
    narrow = pal.paged_attention_prefill(q, k, v, *pools, cache.page_table, cache.lens, cu, layout=layout)
    out = pal.paged_attention_prefill(
        q, k, v, *pools, wide(cache.page_table), wide(cache.lens), wide(cu), layout=layout
    )
    np.testing.assert_array_equal(out, narrow)


def test_fill_takes_int64_indices(rng):
    pages, heads, dim, page = 6, 2, 64, 8
    shape_k = pal.get_k_cache_shape(pages, heads, dim, page, "float32")
    shape_v = pal.get_v_cache_shape(pages, heads, dim, page, "float32")
    keys, values = (
        random_array(rng, (4, heads, dim), "float32"),
        random_array(rng, (4, heads, dim), "float32"),
    )
    table = np.array([[3, 1], [0, 5]], np.int32)
    positions, seqs = np.array([0, 9, 2, 7], np.int32), np.array([0, 0, 1, 1], np.int32)
    slots = np.array([5, -1, 17, 40], np.int32)
    for index in (
        {"page_table": table, "positions": positions, "token_to_seq": seqs},
        {"slot_mapping": slots},
    ):
        results = []
        for convert in (np.asarray, wide):
            k_cache, v_cache = np.zeros(shape_k, np.float32), np.zeros(shape_v, np.float32)
            pal.fill_kv_pages(keys, values, k_cache, v_cache, **{n: convert(a) for n, a in index.items()})
            results.append((k_cache, v_cache))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("convert", [np.asarray, wide])
def test_index_rows_sliced_from_larger_tables(rng, convert):
    """A block table sliced out of a larger one (rows of a contiguous last dimension, as engines
    keep one table for the largest batch) reads as its contiguous copy, in either index dtype."""
    cache = paged_cache(rng, [40, 0, 17], 2, 64, 16, "float32", "nhd")
    queries = random_array(rng, (3, 4, 64), "float32")
    pools = (cache.k_cache, cache.v_cache)
    pages = cache.page_table.shape[1]
    big = np.full((5, pages + 3), 7, np.int32)
    big[:3, :pages] = cache.page_table
    view = convert(big)[:3, :pages]
    assert not view.flags.c_contiguous
    expected = pal.paged_attention_decode(queries, *pools, cache.page_table, cache.lens, layout="nhd")
    out = pal.paged_attention_decode(queries, *pools, view, convert(cache.lens), layout="nhd")
    np.testing.assert_array_equal(out, expected)
    q, k, v, cu = random_prompts(rng, [3, 1, 5], 4, 2, 64, "float32")
    expected = pal.paged_attention_prefill(q, k, v, *pools, cache.page_table, cache.lens, cu, layout="nhd")
    out = pal.paged_attention_prefill(q, k, v, *pools, view, convert(cache.lens), convert(cu), layout="nhd")
    np.testing.assert_array_equal(out, expected)


def test_int64_values_beyond_int32_stay_invalid(rng):
    cache = paged_cache(rng, [20], 1, 64, 16, "float32", "pal")
    queries = random_array(rng, (1, 2, 64), "float32")
    table = wide(cache.page_table)
    table[0, 0] = 2**32 + int(cache.page_table[0, 0])  # would wrap onto a valid page
    with pytest.raises(pal.PalValueError, match=r"page_table\[0, 0\]"):
        pal.paged_attention_decode(queries, cache.k_cache, cache.v_cache, table, cache.lens)
    keys = random_array(rng, (1, 1, 64), "float32")
    with pytest.raises(pal.PalValueError, match=r"slot_mapping\[0\]"):
        pal.fill_kv_pages(
            keys, keys, cache.k_cache, cache.v_cache, slot_mapping=np.array([2**32 + 3], np.int64)
        )


def test_an_entry_beyond_int32_is_reported_as_given(rng):
    # SPEC §6: the error names the entry and what was given, not the int32 it was narrowed to.
    cache = paged_cache(rng, [20, 5], 1, 64, 16, "float32", "pal")
    queries = random_array(rng, (2, 2, 64), "float32")
    pools = (cache.k_cache, cache.v_cache)
    table = wide(cache.page_table)
    table[1, 0] = -(2**40) - 7
    with pytest.raises(pal.PalValueError, match=r"`page_table\[1, 0\]`.*got -1099511627783$"):
        pal.paged_attention_decode(queries, *pools, table, cache.lens)
    lens = wide(cache.lens)
    lens[1] = 2**33 + 3
    with pytest.raises(pal.PalValueError, match=r"`seq_lens\[1\]`.*got 8589934595$"):
        pal.paged_attention_decode(queries, *pools, cache.page_table, lens)
    keys = random_array(rng, (2, 1, 64), "float32")
    slots = np.array([0, 2**35], np.int64)
    with pytest.raises(pal.PalValueError, match=r"`slot_mapping\[1\]`.*got 34359738368$"):
        pal.fill_kv_pages(keys, keys, *pools, slot_mapping=slots)
    # Unused entries of a row may hold anything; slots below int32 still skip.
    table[1, 0] = cache.page_table[1, 0]
    table[1, 1:] = 2**40
    np.testing.assert_array_equal(
        pal.paged_attention_decode(queries, *pools, table, cache.lens),
        pal.paged_attention_decode(queries, *pools, cache.page_table, cache.lens),
    )
    pal.fill_kv_pages(keys, keys, *pools, slot_mapping=np.array([-(2**40), -1], np.int64))


def test_a_cuda_entry_beyond_int32_is_reported_as_given(rng):
    """int64 CUDA tensors are narrowed on the device (no synchronisation); where check=True's
    host validation then finds a clamped entry bad, the error reads the entry the caller gave."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cache = paged_cache(rng, [20, 5], 1, 64, 16, "float32", "pal")
    on_gpu = [torch.from_numpy(np.ascontiguousarray(a)).cuda() for a in (cache.k_cache, cache.v_cache)]
    queries = torch.from_numpy(random_array(rng, (2, 2, 64), "float32")).cuda()
    table = torch.from_numpy(wide(cache.page_table)).cuda()
    table[1, 0] = -(2**40) - 7
    lens = torch.from_numpy(wide(cache.lens)).cuda()
    with pytest.raises(pal.PalValueError, match=r"`page_table\[1, 0\]`.*got -1099511627783$"):
        pal.paged_attention_decode(queries, *on_gpu, table, lens, check=True)
    table[1, 0] = int(cache.page_table[1, 0])
    lens[1] = 2**33 + 3
    with pytest.raises(pal.PalValueError, match=r"`seq_lens\[1\]`.*got 8589934595$"):
        pal.paged_attention_decode(queries, *on_gpu, table, lens, check=True)
    keys = torch.zeros((2, 1, 64), device="cuda")
    slots = torch.tensor([0, 2**35], device="cuda")
    with pytest.raises(pal.PalValueError, match=r"`slot_mapping\[1\]`.*got 34359738368$"):
        pal.fill_kv_pages(keys, keys, *on_gpu, slot_mapping=slots, check=True)
    # The default call defers the check to the kernel, which saw the narrowed value: reported
    # by the next call as found there (the message says so), with nothing read back.
    pal.fill_kv_pages(keys, keys, *on_gpu, slot_mapping=slots)
    torch.cuda.synchronize()  # (the kernel's report is read by the next call without waiting)
    with pytest.raises(pal.PalValueError, match=r"`slot_mapping\[1\]`.*earlier call"):
        pal.fill_kv_pages(keys, keys, *on_gpu, slot_mapping=torch.tensor([0, 1], device="cuda"))


def test_an_entry_quoted_in_another_entrys_error_is_reported_as_given(rng):
    """An offset error quotes the offset before it by value: a clamped one is quoted as given too,
    not as int32's bound (it once read `cu_seqlens_q[1] = 2147483647` for 2**40)."""
    cache = paged_cache(rng, [20, 5], 1, 64, 16, "float32", "pal")
    q, k, v, cu = random_prompts(rng, [3, 2], 2, 1, 64, "float32")
    tables = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    for given in (2**40, 2**31):
        offsets = wide(cu)
        offsets[1] = given
        expected = (
            f"paged_attention_prefill: `cu_seqlens_q[2]` must be at least cu_seqlens_q[1] = {given} "
            "(offsets never decrease), got 5"
        )
        with pytest.raises(pal.PalValueError, match=f"^{re.escape(expected)}$"):
            pal.paged_attention_prefill(q, k, v, *tables, offsets)
    # int32's bound given as such stays as it is, while another table was clamped (an unused entry).
    table = wide(cache.page_table)
    table[1, 1] = 2**40
    offsets = np.array([0, 2**31 - 1, 5], np.int64)
    expected = (
        "paged_attention_prefill: `cu_seqlens_q[2]` must be at least cu_seqlens_q[1] = 2147483647 "
        "(offsets never decrease), got 5"
    )
    with pytest.raises(pal.PalValueError, match=f"^{re.escape(expected)}$"):
        pal.paged_attention_prefill(q, k, v, cache.k_cache, cache.v_cache, table, cache.lens, offsets)


def test_a_cuda_entry_quoted_in_another_entrys_error_is_reported_as_given(rng):
    """As above, for int64 CUDA offsets validated by check=True (read back, then checked as on the
    host): the clamped offset is read from the caller's tensor on that error path."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cache = paged_cache(rng, [40, 20], 2, 64, 16, "bfloat16", "nhd")
    pools = [to_torch(a, "cuda") for a in (cache.k_cache, cache.v_cache)]
    table, lens = (to_torch(wide(a), "cuda") for a in (cache.page_table, cache.lens))
    q = torch.zeros((3, 4, 64), dtype=torch.bfloat16, device="cuda")
    keys = torch.zeros((3, 2, 64), dtype=torch.bfloat16, device="cuda")
    offsets = torch.tensor([0, 2**40, 3], device="cuda")
    expected = (
        "paged_attention_prefill: `cu_seqlens_q[2]` must be at least cu_seqlens_q[1] = 1099511627776 "
        "(offsets never decrease), got 3"
    )
    with pytest.raises(pal.PalValueError, match=f"^{re.escape(expected)}$"):
        pal.paged_attention_prefill(q, keys, keys, *pools, table, lens, offsets, layout="nhd", check=True)


def test_a_deferred_report_of_int32s_bound_says_it_may_be_a_clamped_int64_entry(rng):
    """The deferred check reports at the next call what the kernel read, the int32 an int64 entry
    beyond int32 was clamped to (the given value is not kept past its call): at int32's bounds
    the message says so, rather than pass the bound off as the value given."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cache = paged_cache(rng, [40, 20], 2, 64, 16, "bfloat16", "nhd")
    k, v = (to_torch(a, "cuda") for a in (cache.k_cache, cache.v_cache))
    table, lens = (to_torch(wide(a), "cuda") for a in (cache.page_table, cache.lens))
    queries = torch.zeros((2, 4, 64), dtype=torch.bfloat16, device="cuda")
    keys = torch.zeros((2, 2, 64), dtype=torch.bfloat16, device="cuda")
    device = f"cuda:{torch.cuda.current_device()}"
    tail = (
        f"(int32's bound, to which an int64 entry beyond int32 is clamped; found on {device} by the kernel "
        "of an earlier call, which skipped it; reported by the next call, which did not run; pass check=True "
        "to validate before launching)"
    )
    bad_table = table.clone()
    bad_table[1, 0] = -(2**40)
    slots = torch.tensor([0, 2**35], device="cuda")
    for call, expected in [
        (
            lambda: pal.fill_kv_pages(keys, keys, k, v, slot_mapping=slots, layout="nhd"),
            "fill_kv_pages: `slot_mapping[1]` must be a slot inside the pool, or negative to skip, "
            "got 2147483647",
        ),
        (
            lambda: pal.paged_attention_decode(queries, k, v, bad_table, lens, layout="nhd"),
            "paged_attention_decode: `page_table[1, 0]` must be a page id inside the pool, got -2147483648",
        ),
    ]:
        call()  # runs, skipping the entry
        torch.cuda.synchronize()
        with pytest.raises(pal.PalValueError, match=f"^{re.escape(f'{expected} {tail}')}$"):
            pal.paged_attention_decode(queries, k, v, table, lens, layout="nhd")


class InterfaceOnly:
    """An array known only through ``__array_interface__``."""

    def __init__(self, array):
        self.__array_interface__ = array.__array_interface__
        self.array = array


@pytest.mark.parametrize("wrapper", [BareDLPack, InterfaceOnly])
def test_int64_indices_through_any_array_protocol(rng, wrapper):
    cache = paged_cache(rng, [40, 0, 17], 2, 64, 16, "float32", "nhd")
    queries = random_array(rng, (3, 4, 64), "float32")
    pools = (cache.k_cache, cache.v_cache)
    expected = pal.paged_attention_decode(queries, *pools, cache.page_table, cache.lens, layout="nhd")
    table, lens = wrapper(wide(cache.page_table)), wrapper(wide(cache.lens))
    out = pal.paged_attention_decode(queries, *pools, table, lens, layout="nhd")
    np.testing.assert_array_equal(out, expected)
    keys = random_array(rng, (2, 2, 64), "float32")
    pal.fill_kv_pages(keys, keys, *pools, slot_mapping=wrapper(np.array([3, -1], np.int64)), layout="nhd")
    np.testing.assert_array_equal(cache.k_cache[0, 3], keys[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint32])
def test_a_wrong_index_dtype_names_only_index_dtypes(rng, dtype):
    cache = paged_cache(rng, [10], 1, 64, 16, "float32", "pal")
    queries = random_array(rng, (1, 2, 64), "float32")
    pools = (cache.k_cache, cache.v_cache)
    calls = {
        "page_table": lambda: pal.paged_attention_decode(
            queries, *pools, cache.page_table.astype(dtype), cache.lens
        ),
        "seq_lens": lambda: pal.paged_attention_decode(
            queries, *pools, cache.page_table, cache.lens.astype(dtype)
        ),
        "slot_mapping": lambda: pal.fill_kv_pages(
            queries[:, :1], queries[:, :1], *pools, slot_mapping=np.zeros(1, dtype)
        ),
    }
    for name, call in calls.items():
        with pytest.raises(pal.PalTypeError, match=f"`{name}`") as error:
            call()
        message = str(error.value)
        assert "int32 or int64" in message and "float16" not in message, message
