"""Smoke: the package imports, the helpers answer per SPEC §2, one call of each op runs."""

import ml_dtypes
import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import DTYPES, LAYOUTS, paged_cache, random_array


def test_public_api():
    assert isinstance(pal.__version__, str)
    for name in pal.__all__:
        assert callable(getattr(pal, name)), name
        assert getattr(pal, name).__doc__, f"{name} has no docstring"


@pytest.mark.parametrize(
    "dtype, layout, k_shape, v_shape",
    [
        ("bfloat16", "pal", (10, 8, 16, 16, 8), (10, 8, 128, 16)),
        (np.float32, "pal", (10, 8, 32, 16, 4), (10, 8, 128, 16)),
        (np.float16, "nhd", (10, 16, 8, 128), (10, 16, 8, 128)),
        (ml_dtypes.bfloat16, "hnd", (10, 8, 16, 128), (10, 8, 16, 128)),
    ],
)
def test_cache_shapes(dtype, layout, k_shape, v_shape):
    assert pal.get_k_cache_shape(10, 8, 128, 16, dtype, layout) == k_shape
    assert pal.get_v_cache_shape(10, 8, 128, 16, dtype, layout) == v_shape


def test_stripe_and_page_size():
    assert pal.get_k_cache_stripe_size(np.float32) == 4
    assert pal.get_k_cache_stripe_size("float16") == 8
    assert pal.get_k_cache_stripe_size(ml_dtypes.bfloat16) == 8
    assert pal.get_optimal_page_size() == 16


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_op_runs(rng, layout):
    cache = paged_cache(rng, [5, 20], 2, 32, 8, "float16", layout)
    queries = random_array(rng, (2, 4, 32), "float16")
    out = pal.paged_attention_decode(
        queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, layout=layout
    )
    assert out.shape == (2, 4, 32) and out.dtype == DTYPES["float16"] and np.isfinite(out).all()

    q, k = random_array(rng, (6, 4, 32), "float16"), random_array(rng, (6, 2, 32), "float16")
    out = pal.paged_attention_prefill(
        q, k, k, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, layout=layout
    )
    assert out.shape == (6, 4, 32) and np.isfinite(out).all()

    pal.fill_kv_pages(
        k, k, cache.k_cache, cache.v_cache, slot_mapping=np.arange(6, dtype=np.int32), layout=layout
    )
