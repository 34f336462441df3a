"""Attention variants (SPEC §3.5) on the CPU backend against the float64 oracle: sliding
windows (0, small, larger than the context, hiding a prefill row's whole history), logit
soft-caps (with huge logits), ALiBi slopes, sinks (larger than every logit too), all of them
together, and bad values."""

import re

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import (
    LAYOUTS,
    assert_close,
    decode_reference,
    paged_cache,
    prefill_reference,
    random_array,
    random_prompts,
)

SLOPES = 2.0 ** -np.arange(1, 9, dtype=np.float32)  # BLOOM's slopes for 8 heads
VARIANTS = [
    {"window_left": 0},
    {"window_left": 1},
    {"window_left": 37},
    {"window_left": 100_000},
    {"logits_soft_cap": 5.0},
    {"logits_soft_cap": 30.0, "window_left": 16},
    {"alibi_slopes": SLOPES},
    {"sinks": np.linspace(-2.0, 2.0, 8, dtype=np.float32)},
    {"sinks": np.full(8, 1e4, np.float32)},  # larger than every logit: outputs near zero
    {
        "window_left": 64,
        "logits_soft_cap": 20.0,
        "alibi_slopes": SLOPES[::-1].copy(),
        "sinks": np.ones(8, np.float32),
    },
]


def name(variant: dict) -> str:
    return "-".join(k if isinstance(x, np.ndarray) else f"{k}={x}" for k, x in variant.items())


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("variant", VARIANTS, ids=name)
def test_decode_variants(rng, layout, dtype, variant):
    lens = [int(n) for n in rng.integers(1, 1300, size=3)] + [0, 1]
    cache = paged_cache(rng, lens, 2, 64, 16, dtype, layout)
    # Large queries: raw scores far beyond the soft-cap.
    queries = random_array(rng, (len(lens), 8, 64), dtype) * 8
    args = (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    out = pal.paged_attention_decode(*args, layout=layout, **variant)
    assert_close(out, decode_reference(queries, cache, **variant), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("variant", VARIANTS, ids=name)
def test_prefill_variants(rng, layout, variant):
    # Histories of none, one token, a page and a long one; prompts of one token to a few tiles:
    # window 0 and 1 hide every history token from most rows.
    history, prompts = [0, 1, 16, 500], [5, 1, 40, 77]
    cache = paged_cache(rng, history, 2, 64, 8, "float32", layout)
    q, k, v, cu = random_prompts(rng, prompts, 8, 2, 64, "float32")
    q = q * 8
    args = (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu)
    out = pal.paged_attention_prefill(*args, layout=layout, **variant)
    assert_close(out, prefill_reference(q, k, v, cache, cu, **variant), "float32")


def test_a_window_skips_what_it_hides(rng):
    """Keys outside the window may hold anything: they are never read."""
    cache = paged_cache(rng, [300], 1, 64, 16, "float32", "nhd")
    queries = random_array(rng, (1, 2, 64), "float32")
    expected = decode_reference(queries, cache, window_left=40)
    cache.k_cache[cache.page_table[0, :10]] = np.nan  # tokens 0..159: outside the window
    cache.v_cache[cache.page_table[0, :10]] = np.nan
    out = pal.paged_attention_decode(
        queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, layout="nhd", window_left=40
    )
    assert_close(out, expected, "float32")


@pytest.mark.parametrize(
    "variant, names",
    [
        ({"window_left": -2}, "window_left"),
        ({"logits_soft_cap": -1.0}, "logits_soft_cap"),
        ({"logits_soft_cap": float("nan")}, "logits_soft_cap"),
        ({"logits_soft_cap": float("inf")}, "logits_soft_cap"),
        ({"alibi_slopes": np.ones(3, np.float32)}, "alibi_slopes"),
        ({"sinks": np.ones((2, 1), np.float32)}, "sinks"),
        ({"sinks": np.array([0.0, np.nan], np.float32)}, "sinks[1]"),
    ],
)
def test_bad_variant_options_raise(rng, variant, names):
    cache = paged_cache(rng, [10], 1, 64, 16, "float32", "pal")
    queries = random_array(rng, (1, 2, 64), "float32")
    with pytest.raises(pal.PalValueError, match=re.escape(names)):
        pal.paged_attention_decode(
            queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, **variant
        )


def test_variant_vectors_must_be_float32(rng):
    cache = paged_cache(rng, [10], 1, 64, 16, "float32", "pal")
    queries = random_array(rng, (1, 2, 64), "float32")
    with pytest.raises(pal.PalTypeError, match="alibi_slopes"):
        pal.paged_attention_decode(
            queries,
            cache.k_cache,
            cache.v_cache,
            cache.page_table,
            cache.lens,
            alibi_slopes=np.ones(2, np.float16),
        )
