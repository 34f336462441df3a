"""Attention variants (SPEC §3.5) on the CPU backend and, where there is a GPU, the CUDA backend,
against the float64 oracle: sliding windows (0, small, larger than the context, hiding a prefill
row's whole history), logit soft-caps (with huge logits), ALiBi slopes, sinks (larger than every
logit too), all of them together, and bad values."""

import re

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import (
    LAYOUTS,
    assert_close,
    decode_reference,
    on_device,
    paged_cache,
    prefill_reference,
    random_array,
    random_prompts,
    to_host,
    with_nan_past_the_end,
)


def on(device: str, arrays: dict) -> dict:
    """The arrays (numpy) as the device's arrays: numpy for the CPU, torch tensors for CUDA."""
    return {k: on_device(a, device) for k, a in arrays.items()}


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
def test_decode_variants(rng, device, layout, dtype, variant):
    lens = [int(n) for n in rng.integers(1, 1300, size=3)] + [0, 1]
    cache = paged_cache(rng, lens, 2, 64, 16, dtype, layout)
    # Large queries: raw scores far beyond the soft-cap.
    queries = random_array(rng, (len(lens), 8, 64), dtype) * 8
    args = on(
        device, {"q": queries, "k": cache.k_cache, "v": cache.v_cache, "t": cache.page_table, "l": cache.lens}
    )
    out = pal.paged_attention_decode(*args.values(), layout=layout, **on(device, variant))
    assert_close(to_host(out), decode_reference(queries, cache, **variant), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("variant", VARIANTS, ids=name)
def test_prefill_variants(rng, device, layout, dtype, variant):
    if device == "cpu" and dtype != "float32":
        pytest.skip("the CPU backend's dtypes share one code path; float32 covers it")
    check_prefill_variant(rng, device, layout, dtype, dtype, variant)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("variant", VARIANTS, ids=name)
def test_prefill_variants_over_fp8_pools(rng, device, layout, variant):
    """e4m3 pools (scales 1) under bfloat16 queries: on Hopper the tensor-core prefill widens
    their history tiles, masks and transforms as over bfloat16 pools."""
    check_prefill_variant(rng, device, layout, "bfloat16", "float8_e4m3fn", variant)


def check_prefill_variant(rng, device, layout, dtype, pool_dtype, variant):
    # Histories of none, one token, a page and a long one; prompts of one token to a few tiles:
    # window 0 and 1 hide every history token from most rows.
    history, prompts = [0, 1, 16, 500], [5, 1, 40, 77]
    cache = paged_cache(rng, history, 2, 64, 8, pool_dtype, layout)
    q, k, v, cu = random_prompts(rng, prompts, 8, 2, 64, dtype)
    q = (q * 8).astype(q.dtype)
    arrays = {"q": q, "k": k, "v": v, "kc": cache.k_cache, "vc": cache.v_cache, "t": cache.page_table}
    args = on(device, {**arrays, "l": cache.lens, "cu": np.asarray(cu, np.int32)})
    out = pal.paged_attention_prefill(*args.values(), layout=layout, **on(device, variant))
    assert_close(to_host(out), prefill_reference(q, k, v, cache, cu, **variant), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cap", [50.0, 65.8, 66.0])
@pytest.mark.parametrize("sinks", [None, 1e4, -30.0])
def test_prefill_soft_caps_near_the_fixed_base_limit(rng, device, layout, cap, sinks):
    """bfloat16 soft-caps up to 95 / log2(e) (65.8) run Hopper's prefill on a fixed exponent base
    (no running max): at the limit, just past it (the running max again), over thousands of keys
    at head dim 128 with logits at +-cap, with a sink far above every logit and one far below,
    on a short prompt over a long history (split-KV partial states) and on longer prompts."""
    history, prompts = [3000, 0, 700], [3, 150, 64]
    cache = paged_cache(rng, history, 2, 128, 16, "bfloat16", layout)
    q, k, v, cu = random_prompts(rng, prompts, 4, 2, 128, "bfloat16")
    q = (q * 16).astype(q.dtype)  # raw scores well past the cap: most logits sit at +-cap
    variant = {"logits_soft_cap": cap} | ({} if sinks is None else {"sinks": np.full(4, sinks, np.float32)})
    arrays = {"q": q, "k": k, "v": v, "kc": cache.k_cache, "vc": cache.v_cache, "t": cache.page_table}
    args = on(device, {**arrays, "l": cache.lens, "cu": np.asarray(cu, np.int32)})
    out = pal.paged_attention_prefill(*args.values(), layout=layout, **on(device, variant))
    assert_close(to_host(out), prefill_reference(q, k, v, cache, cu, **variant), "bfloat16")
    # The lone query of the first sequence over its whole history alone (a split grid).
    one = {**arrays, "q": q[:1], "k": k[:1], "v": v[:1], "l": cache.lens}
    out = pal.paged_attention_prefill(
        *on(device, {**one, "cu": np.asarray([0, 1, 1, 1], np.int32)}).values(),
        layout=layout,
        **on(device, variant),
    )
    expected = prefill_reference(q[:1], k[:1], v[:1], cache, [0, 1, 1, 1], **variant)
    assert_close(to_host(out), expected, "bfloat16")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("head_dim", [64, 80, 96, 112, 192, 256])
def test_prefill_soft_caps_at_other_head_dims(rng, device, layout, head_dim):
    """Soft-capped bfloat16 prefill, where Hopper multiplies Q by scale / cap in shared memory:
    at head dim 64, in the padded 128-wide tiles of 80 / 96 / 112 (whose pads S never reads)
    and in the one-item-per-CTA form of 192 / 256 (Gemma 2's), logits past the cap, over a
    history and on prompts alone."""
    history, prompts = [700, 0], [64, 150]
    cache = paged_cache(rng, history, 2, head_dim, 16, "bfloat16", layout)
    q, k, v, cu = random_prompts(rng, prompts, 4, 2, head_dim, "bfloat16")
    q = (q * 16).astype(q.dtype)
    variant = {"logits_soft_cap": 50.0}
    arrays = {"q": q, "k": k, "v": v, "kc": cache.k_cache, "vc": cache.v_cache, "t": cache.page_table}
    args = on(device, {**arrays, "l": cache.lens, "cu": np.asarray(cu, np.int32)})
    out = pal.paged_attention_prefill(*args.values(), layout=layout, **on(device, variant))
    assert_close(to_host(out), prefill_reference(q, k, v, cache, cu, **variant), "bfloat16")


@pytest.mark.parametrize("page_size", [1, 2, 4, 8, 16, 32, 64, 128])
@pytest.mark.parametrize("pool", ["bfloat16", "float8_e4m3fn"])
def test_decode_windows_at_every_page_size(rng, device, page_size, pool):
    """Windows starting inside a page, a tile and a pal value run; sequences longer than it (pal
    pages under the tile are staged per page on CUDA, in 16-bit and fp8 pools)."""
    lens = [300, 17, 129, 1]
    for window in (0, 5, 23, 130):
        cache = paged_cache(rng, lens, 2, 64, page_size, pool, "pal")
        queries = random_array(rng, (len(lens), 4, 64), "bfloat16")
        args = on(
            device,
            {"q": queries, "k": cache.k_cache, "v": cache.v_cache, "t": cache.page_table, "l": cache.lens},
        )
        out = pal.paged_attention_decode(*args.values(), window_left=window)
        assert_close(
            to_host(out), decode_reference(queries, cache, window_left=window), "bfloat16", f"window {window}"
        )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_window_skips_what_it_hides(rng, device, layout):
    """Keys outside the window may hold anything (NaN: pages an engine reused): never read."""
    cache = paged_cache(rng, [300], 1, 64, 16, "float32", layout)
    queries = random_array(rng, (1, 2, 64), "float32")
    expected = decode_reference(queries, cache, window_left=40)
    cache.k_cache[cache.page_table[0, :10]] = np.nan  # tokens 0..159: outside the window
    cache.v_cache[cache.page_table[0, :10]] = np.nan
    args = on(
        device, {"q": queries, "k": cache.k_cache, "v": cache.v_cache, "t": cache.page_table, "l": cache.lens}
    )
    out = pal.paged_attention_decode(*args.values(), layout=layout, window_left=40)
    assert_close(to_host(out), expected, "float32")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [2, 4, 8, 16, 32])
@pytest.mark.parametrize("pool", ["bfloat16", "float8_e4m3fn"])
def test_slots_past_the_end_are_never_used(rng, device, layout, page_size, pool):
    """The slots of a sequence's last page past its length may hold anything (NaN: a page an
    engine reused, or a pool from torch.empty): decode and prefill never let them in (bf16
    queries over bf16 or fp8 pools)."""
    lens = [37, 5, 130, 1, 66]
    cache = with_nan_past_the_end(paged_cache(rng, lens, 2, 64, page_size, pool, "nhd"), layout)
    pools = {"kc": cache.k_cache, "vc": cache.v_cache, "t": cache.page_table}
    queries = random_array(rng, (len(lens), 4, 64), "bfloat16")
    args = on(device, {"q": queries, **pools, "l": cache.lens})
    out = pal.paged_attention_decode(*args.values(), layout=layout)
    assert_close(to_host(out), decode_reference(queries, cache), "bfloat16", "decode")
    # Prefill over those histories (the prompts' own keys come as arguments).
    q, k_new, v_new, cu = random_prompts(rng, [3, 1, 20, 2, 7], 4, 2, 64, "bfloat16")
    arrays = {"q": q, "k": k_new, "v": v_new, **pools, "l": cache.lens, "cu": np.asarray(cu, np.int32)}
    out = pal.paged_attention_prefill(*on(device, arrays).values(), layout=layout)
    assert_close(to_host(out), prefill_reference(q, k_new, v_new, cache, cu), "bfloat16", "prefill")


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


@pytest.mark.parametrize(
    "option, error, names",
    [
        ({"window_left": 3.0}, pal.PalTypeError, "`window_left` must be an integer"),
        ({"window_left": "3"}, pal.PalTypeError, "`window_left` must be an integer"),
        ({"window_left": None}, pal.PalTypeError, "`window_left` must be an integer"),
        ({"window_left": -(2**70)}, pal.PalValueError, "`window_left`"),
        ({"scale": "0.5"}, pal.PalTypeError, "`scale` must be a number"),
        ({"logits_soft_cap": "30"}, pal.PalTypeError, "`logits_soft_cap` must be a number"),
        ({"scale": 10**400}, pal.PalValueError, "`scale` must be a finite number"),
        ({"logits_soft_cap": 10**400}, pal.PalValueError, "`logits_soft_cap` must be a finite number"),
        ({"check": 1}, pal.PalTypeError, "`check` must be True, False or None, got int 1"),
        ({"check": "yes"}, pal.PalTypeError, "`check` must be True, False or None"),
        ({"layout": None}, pal.PalTypeError, "`layout` must be a string"),
        ({"layout": 3}, pal.PalTypeError, "`layout` must be a string"),
    ],
)
def test_options_of_the_wrong_kind_name_themselves(rng, option, error, names):
    cache = paged_cache(rng, [10], 1, 64, 16, "float32", "pal")
    queries = random_array(rng, (1, 2, 64), "float32")
    q, k, v, cu = random_prompts(rng, [3], 2, 1, 64, "float32")
    with pytest.raises(error, match=re.escape(names)):
        pal.paged_attention_decode(
            queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, **option
        )
    with pytest.raises(error, match=re.escape(names)):
        pal.paged_attention_prefill(
            q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu, **option
        )


def test_a_window_past_int64_and_a_soft_cap_of_none_are_off(rng):
    cache = paged_cache(rng, [40], 1, 64, 16, "float32", "pal")
    queries = random_array(rng, (1, 2, 64), "float32")
    args = (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    plain = pal.paged_attention_decode(*args)
    np.testing.assert_array_equal(pal.paged_attention_decode(*args, window_left=2**64), plain)
    np.testing.assert_array_equal(pal.paged_attention_decode(*args, logits_soft_cap=None), plain)
    np.testing.assert_array_equal(pal.paged_attention_decode(*args, window_left=np.int64(-1)), plain)


@pytest.mark.parametrize("length", [600, 1500])
def test_keys_whose_logits_overflow_to_minus_infinity_weigh_nothing(rng, length):
    # An ALiBi slope near f32::MAX sends every key but the nearest to -inf, so whole tiles and
    # splits hold no finite logit: they must add nothing (exp(-inf - -inf) is NaN).
    pages = (length + 15) // 16
    k_cache = np.zeros((pages, 16, 1, 16), np.float32)
    k_cache[..., 0] = 1.0
    v_cache = random_array(rng, k_cache.shape, "float32")
    queries = np.zeros((1, 1, 16), np.float32)
    queries[..., 0] = 1.0
    table = np.arange(pages, dtype=np.int32)[None]
    out = pal.paged_attention_decode(
        queries, k_cache, v_cache, table, np.array([length], np.int32), layout="nhd",
        alibi_slopes=np.array([1e37], np.float32),
    )  # fmt: skip
    last = length - 1
    np.testing.assert_array_equal(out[0, 0], v_cache[last // 16, last % 16, 0])


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
