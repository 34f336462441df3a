"""Softmax and value: cases whose answer is known in closed form."""

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import LAYOUTS, paged_cache, random_array


@pytest.mark.parametrize("layout", LAYOUTS)
def test_zero_scale_gives_the_mean_of_values(rng, layout):
    cache = paged_cache(rng, [37, 300], 2, 64, 16, "float32", layout)
    queries = random_array(rng, (2, 4, 64), "float32")
    out = pal.paged_attention_decode(
        queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, scale=0.0, layout=layout
    )
    for b in range(2):
        mean = np.repeat(
            cache.values[b].astype(np.float64).mean(axis=0), 2, axis=0
        )  # query head h reads KV head h // 2
        np.testing.assert_allclose(out[b], mean, atol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_dominant_key_selects_its_value(rng, layout):
    """One key aligned with the query and a large scale: softmax is one-hot on that token."""
    tokens, dim = 50, 32
    k_cache = np.zeros(pal.get_k_cache_shape(4, 1, dim, 16, "float32", layout), np.float32)
    v_cache = np.zeros_like(np.empty(pal.get_v_cache_shape(4, 1, dim, 16, "float32", layout), np.float32))
    keys = random_array(rng, (tokens, 1, dim), "float32") * 0.01
    target = 23
    keys[target, 0] = 1.0
    values = random_array(rng, (tokens, 1, dim), "float32")
    page_table = np.array([[2, 0, 3, 1]], np.int32)
    pal.fill_kv_pages(
        keys,
        values,
        k_cache,
        v_cache,
        page_table,
        np.arange(tokens, dtype=np.int32),
        np.zeros(tokens, np.int32),
        layout=layout,
    )
    queries = np.ones((1, 1, dim), np.float32)
    out = pal.paged_attention_decode(
        queries, k_cache, v_cache, page_table, np.array([tokens], np.int32), scale=100.0, layout=layout
    )
    np.testing.assert_allclose(out[0, 0], values[target, 0], atol=1e-6)


def test_softmax_is_shift_invariant_and_stable(rng):
    """Huge scores (scale 1e4) must not overflow: the running max keeps exp() in range."""
    cache = paged_cache(rng, [200], 1, 64, 16, "float32", "pal")
    queries = random_array(rng, (1, 1, 64), "float32")
    out = pal.paged_attention_decode(
        queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, scale=1e4
    )
    assert np.isfinite(out).all()
    best = int(np.argmax(cache.keys[0][:, 0] @ queries[0, 0].astype(np.float64)))
    np.testing.assert_allclose(out[0, 0], cache.values[0][best, 0], atol=1e-5)


def test_outputs_are_convex_combinations_of_values(rng):
    cache = paged_cache(rng, [513], 2, 128, 16, "bfloat16", "hnd")
    queries = random_array(rng, (1, 4, 128), "bfloat16")
    out = pal.paged_attention_decode(
        queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, layout="hnd"
    )
    values = cache.values[0].astype(np.float64)
    low, high = values.min(axis=0), values.max(axis=0)
    out = out.astype(np.float64)
    assert (out >= np.repeat(low, 2, axis=0) - 1e-2).all() and (
        out <= np.repeat(high, 2, axis=0) + 1e-2
    ).all()
