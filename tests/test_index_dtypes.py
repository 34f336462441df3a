"""Index arguments (SPEC §3.4) may be int32 or int64 on every op: int64 (torch's default, vLLM's
`slot_mapping`) gives the same results, and int64 values outside int32 are bad entries, never
wrapped into valid ones."""

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import paged_cache, random_array, random_prompts


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
