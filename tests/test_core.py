"""Core functionality: every op reads and writes exactly the K/V element SPEC §2 assigns to a
token slot, in every layout."""

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import DTYPES, LAYOUTS, from_layout, random_array, stripe_size


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_fill_places_each_element_by_the_spec(rng, layout, dtype):
    pages, heads, dim, page_size = 5, 3, 32, 8
    k_cache = np.zeros(pal.get_k_cache_shape(pages, heads, dim, page_size, dtype, layout), DTYPES[dtype])
    v_cache = np.zeros(pal.get_v_cache_shape(pages, heads, dim, page_size, dtype, layout), DTYPES[dtype])
    key, value = random_array(rng, (1, heads, dim), dtype), random_array(rng, (1, heads, dim), dtype)
    page, slot = 3, 5
    pal.fill_kv_pages(
        key,
        value,
        k_cache,
        v_cache,
        slot_mapping=np.array([page * page_size + slot], np.int32),
        layout=layout,
    )
    x = stripe_size(dtype)
    for h in range(heads):
        for d in range(dim):
            if layout == "pal":
                k_at, v_at = k_cache[page, h, d // x, slot, d % x], v_cache[page, h, d, slot]
            elif layout == "nhd":
                k_at, v_at = k_cache[page, slot, h, d], v_cache[page, slot, h, d]
            else:
                k_at, v_at = k_cache[page, h, slot, d], v_cache[page, h, slot, d]
            assert k_at == key[0, h, d] and v_at == value[0, h, d], (h, d)
    # Nothing else was touched.
    assert np.count_nonzero(from_layout(k_cache, layout, is_key=True).astype(np.float32)) == np.count_nonzero(
        key.astype(np.float32)
    )


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [1, 5, 16])
def test_decode_reads_the_value_of_each_token_slot(rng, layout, page_size):
    """With all-zero keys the softmax is uniform, so out(len=t+1)*(t+1) - out(len=t)*t is
    exactly the value stored for token t: decode fetched slot t of the right page."""
    heads, dim, tokens = 2, 16, 3 * page_size + 2
    num_pages = tokens // page_size + 2
    pages = rng.permutation(num_pages).astype(np.int32)
    values = random_array(rng, (tokens, heads, dim), "float32")
    k_cache = np.zeros(pal.get_k_cache_shape(num_pages, heads, dim, page_size, "float32", layout), np.float32)
    v_cache = np.zeros(pal.get_v_cache_shape(num_pages, heads, dim, page_size, "float32", layout), np.float32)
    page_table = pages[None, :]
    positions = np.arange(tokens, dtype=np.int32)
    pal.fill_kv_pages(
        np.zeros_like(values),
        values,
        k_cache,
        v_cache,
        page_table,
        positions,
        np.zeros(tokens, np.int32),
        layout=layout,
    )
    lens = np.arange(tokens + 1, dtype=np.int32)
    queries = random_array(rng, (tokens + 1, heads, dim), "float32")
    table = np.repeat(page_table, tokens + 1, axis=0)
    out = pal.paged_attention_decode(queries, k_cache, v_cache, table, lens, layout=layout).astype(np.float64)
    sums = out * lens[:, None, None]
    np.testing.assert_allclose(sums[1:] - sums[:-1], values, atol=1e-4)
