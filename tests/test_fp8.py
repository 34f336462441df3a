"""fp8 KV pools (SPEC §3.5) on the CPU backend and, where there is a GPU, the CUDA backend:
float8 e4m3fn / e5m2 pools with per-tensor or per-KV-head ``k_scale`` / ``v_scale`` (numbers,
``[]``, ``[1]`` and ``[HKV]`` arrays), read by decode and prefill as ``value * scale`` and written
by ``fill_kv_pages`` as ``saturate(rne(x / scale))``.

Tolerances: decode and prefill compare with the float64 oracle over the *dequantised* pools, so
the fp8 rounding itself is not an error and the queries' dtype sets the tolerance (the pools
widen exactly to every query dtype). Fill is exact: its bits equal ml_dtypes' round-to-nearest-
even conversion of the float32 quotient ``x / scale`` wherever that is finite, the format's
largest value where it overflows (ml_dtypes gives NaN or inf there), and the CUDA result equals
the CPU's bit for bit."""

import re
from fractions import Fraction

import ml_dtypes
import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import (
    FP8_DTYPES,
    LAYOUTS,
    assert_close,
    attention,
    from_layout,
    kv_head_scales,
    numpy_dtype,
    on_device,
    paged_cache,
    pool_on_host,
    quantise_fp8,
    random_array,
    random_prompts,
    read_sequence,
    to_host,
    to_torch,
    with_nan_past_the_end,
)

FP8 = list(FP8_DTYPES)
HQ, HKV, D = 8, 2, 64
# (k_scale, v_scale) forms: numbers, a [] array, per-head arrays; as given to the ops.
SCALES = {
    "one": (None, None),
    "numbers": (0.5, 3.0),
    "tensor0d": (np.array(0.25, np.float32), np.array([1.5], np.float32)),
    "per_head": (np.array([0.5, 2.0], np.float32), np.array([4.0, 0.125], np.float32)),
}


def per_head(scale) -> np.ndarray:
    """A scale as one float64 value per KV head."""
    return kv_head_scales(scale, HKV)


def scaled(rows: np.ndarray, scale) -> np.ndarray:
    """``[n, HKV, D]`` pool rows as the values they mean: ``value * scale`` of their head."""
    return rows.astype(np.float64) * per_head(scale)[None, :, None]


def decode_args(cache, queries, device) -> list:
    """Decode's positional arguments on ``device``."""
    arrays = (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    return [on_device(a, device) for a in arrays]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fp8", FP8)
@pytest.mark.parametrize("query_dtype", ["bfloat16", "float16", "float32"])
@pytest.mark.parametrize("scales", list(SCALES))
def test_decode_reads_scaled_fp8_pools(rng, device, layout, fp8, query_dtype, scales):
    lens = [1, 15, 16, 300, 0]
    cache = paged_cache(rng, lens, HKV, D, 16, fp8, layout)
    queries = random_array(rng, (len(lens), HQ, D), query_dtype) * 4
    k_scale, v_scale = SCALES[scales]
    out = pal.paged_attention_decode(
        *decode_args(cache, queries, device),
        layout=layout,
        k_scale=on_device(k_scale, device),
        v_scale=on_device(v_scale, device),
    )
    expected = np.zeros(queries.shape)
    for b, n in enumerate(lens):
        keys, values = scaled(cache.keys[b], k_scale), scaled(cache.values[b], v_scale)
        expected[b : b + 1] = attention(queries[b : b + 1], keys, values, [n])
    assert_close(to_host(out), expected, query_dtype, f"{fp8} decode")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fp8", FP8)
@pytest.mark.parametrize("query_dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("heads, head_dim", [((32, 1), 128), ((8, 2), 96), ((16, 4), 256), ((64, 8), 64)])
def test_decode_fp8_head_shapes_and_variants(rng, device, layout, fp8, query_dtype, heads, head_dim):
    """MQA and wide groups (one m-tile a CTA on these small grids), head dims on and off the
    64-dim grid of the tensor cores' K loads (64, 128, 256 / 96), long sequences (split KV), with
    a window, soft-cap, ALiBi and sinks at once."""
    (num_q_heads, num_kv_heads), lens = heads, [2000, 37, 1]
    cache = paged_cache(rng, lens, num_kv_heads, head_dim, 16, fp8, layout)
    queries = random_array(rng, (len(lens), num_q_heads, head_dim), query_dtype) * 4
    k_scale = np.linspace(0.5, 2.0, num_kv_heads, dtype=np.float32)
    ramp = np.linspace(-1.0, 1.0, num_q_heads, dtype=np.float32)
    variant = {"window_left": 700, "logits_soft_cap": 20.0, "alibi_slopes": ramp / 100, "sinks": ramp}
    out = pal.paged_attention_decode(
        *decode_args(cache, queries, device),
        layout=layout,
        k_scale=on_device(k_scale, device),
        v_scale=0.5,
        **{k: on_device(v, device) for k, v in variant.items()},
    )
    keys = [scaled_heads(k, k_scale) for k in cache.keys]
    values = [v.astype(np.float64) * 0.5 for v in cache.values]
    expected = np.concatenate(
        [attention(queries[b : b + 1], keys[b], values[b], [n], **variant) for b, n in enumerate(lens)]
    )
    assert_close(to_host(out), expected, query_dtype, f"{fp8} decode {heads} D{head_dim}")


def scaled_heads(rows: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return rows.astype(np.float64) * scales.astype(np.float64)[None, :, None]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fp8", FP8)
@pytest.mark.parametrize("page_size", [1, 2, 4, 8, 16, 32, 128])
@pytest.mark.parametrize("query_dtype", ["bfloat16", "float32"])
def test_decode_fp8_page_sizes(rng, device, layout, fp8, page_size, query_dtype):
    """Every page size, every layout, on both backends (CUDA: bfloat16 queries on the tensor-core
    decode, which copies pal value runs of 1, 2, 4 and 8 bytes from pages under 16 slots; float32
    queries on the CUDA-core decode, which reads pal values of such pages one by one)."""
    lens = [page_size * 3 + 5, 1]
    cache = paged_cache(rng, lens, HKV, 128, page_size, fp8, layout)
    queries = random_array(rng, (len(lens), HQ, 128), query_dtype)
    check_scaled_decode(cache, queries, lens, device, layout, f"{fp8} decode page {page_size}")


@pytest.mark.parametrize("fp8", FP8)
@pytest.mark.parametrize(
    "page_size, head_dim", [(32, 128), (32, 96), (32, 80), (64, 128), (64, 112), (128, 64)]
)
def test_decode_fp8_pal_large_pages(rng, device, fp8, page_size, head_dim):
    """fp8 pal pools in pages of 32 slots and more (Hopper: values by tensor copies, a box a page
    of 32 or 64 slots read as 128-byte rows of 4 or 2 dims, two boxes a step at 32, or a step's
    64 slots of larger pages; pages of 32 at head dims off whole 32s keep the copying lanes):
    lengths that end in each tile of a step, one long enough to split, windows starting mid-step
    (a step's first page wholly hidden), NaN in the slots past each sequence's end (never read)."""
    lens = [1, 8, 9, 16, 17, 40, 63, 64, 65, 100, 2500]
    cache = with_nan_past_the_end(paged_cache(rng, lens, HKV, head_dim, page_size, fp8, "nhd"), "pal")
    queries = random_array(rng, (len(lens), HQ, head_dim), "bfloat16")
    k_scale = np.array([0.7, 1.3], np.float32)
    for window in (None, 37, 200):
        kwargs = {} if window is None else {"window_left": window}
        out = pal.paged_attention_decode(
            *decode_args(cache, queries, device),
            layout="pal",
            k_scale=on_device(k_scale, device),
            v_scale=2.0,
            **kwargs,
        )
        expected = np.concatenate(
            [
                attention(
                    queries[b : b + 1],
                    scaled(cache.keys[b], k_scale),
                    scaled(cache.values[b], 2.0),
                    [n],
                    **kwargs,
                )
                for b, n in enumerate(lens)
            ]
        )
        assert_close(
            to_host(out), expected, "bfloat16", f"{fp8} page {page_size} D{head_dim} window {window}"
        )


def check_scaled_decode(cache, queries, lens, device, layout, what):
    """Decode with a per-KV-head device k_scale and a numeric v_scale against the float64 oracle."""
    k_scale = np.array([0.7, 1.3], np.float32)
    out = pal.paged_attention_decode(
        *decode_args(cache, queries, device), layout=layout, k_scale=on_device(k_scale, device), v_scale=2.0
    )
    expected = np.concatenate(
        [
            attention(queries[b : b + 1], scaled(cache.keys[b], k_scale), scaled(cache.values[b], 2.0), [n])
            for b, n in enumerate(lens)
        ]
    )
    assert_close(to_host(out), expected, str(queries.dtype), what)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fp8", FP8)
@pytest.mark.parametrize(
    "head_dim, page_size", [(80, 1), (96, 8), (112, 2), (80, 16), (112, 64), (96, 4), (80, 8), (112, 4)]
)
def test_decode_fp8_head_dims_off_the_64_grid(rng, device, layout, fp8, head_dim, page_size):
    """Head dims 80 / 96 / 112 (on CUDA the tensor-core decode: their last 16 / 32 / 48 dims come
    as 4-byte K words, and a tile's copies do not divide evenly among the lanes) at small and
    large pages, long enough to split."""
    lens = [1500, 3 * page_size + 5, 1]
    cache = paged_cache(rng, lens, HKV, head_dim, page_size, fp8, layout)
    queries = random_array(rng, (len(lens), HQ, head_dim), "bfloat16") * 4
    check_scaled_decode(cache, queries, lens, device, layout, f"{fp8} decode D{head_dim} page {page_size}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fp8", FP8)
@pytest.mark.parametrize("head_dim, page_size", [(64, 4), (64, 8), (192, 4), (256, 8)])
def test_decode_fp8_small_pages_over_head_dims(rng, device, layout, fp8, head_dim, page_size):
    """pal pages of 4 and 8 slots at other head dims (on CUDA the tensor-core decode stages V per
    page, in blocks whose 16-byte chunks hold 2 or 4 dims and are swizzled by page), with ends
    inside a page."""
    lens = [700, 3 * page_size + 1, 1]
    cache = paged_cache(rng, lens, HKV, head_dim, page_size, fp8, layout)
    queries = random_array(rng, (len(lens), HQ, head_dim), "bfloat16") * 4
    check_scaled_decode(cache, queries, lens, device, layout, f"{fp8} decode D{head_dim} page {page_size}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fp8", FP8)
@pytest.mark.parametrize("scales", ["numbers", "per_head"])
@pytest.mark.parametrize("page_size", [1, 2, 4, 16, 64, 128])
def test_prefill_scales_history_not_the_prompt(rng, device, layout, fp8, scales, page_size):
    """fp8 history at every page size (history ending mid-page), the prompt in the model dtype."""
    lengths = ([0, 40, 130], [17, 1, 33])  # history and prompt of each sequence
    check_scaled_prefill(rng, device, layout, fp8, SCALES[scales], *lengths, D, page_size, "bfloat16")


def check_scaled_prefill(rng, device, layout, fp8, scales, history, prompts, head_dim, page_size, dtype):
    """Prefill over fp8 pools of `history` keys with `prompts` new tokens in `dtype`, against
    the float64 oracle over the dequantised history and the prompt as given."""
    cache = paged_cache(rng, history, HKV, head_dim, page_size, fp8, layout)
    q, k, v, cu = random_prompts(rng, prompts, HQ, HKV, head_dim, dtype)
    k_scale, v_scale = scales
    arrays = (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu)
    out = pal.paged_attention_prefill(
        *(on_device(a, device) for a in arrays),
        layout=layout,
        k_scale=on_device(k_scale, device),
        v_scale=on_device(v_scale, device),
    )
    expected = np.zeros(q.shape)
    for b, (h, p) in enumerate(zip(history, prompts)):
        rows = slice(cu[b], cu[b + 1])
        keys = np.concatenate([scaled(cache.keys[b], k_scale), k[rows].astype(np.float64)])
        values = np.concatenate([scaled(cache.values[b], v_scale), v[rows].astype(np.float64)])
        expected[rows] = attention(q[rows], keys, values, [h + i + 1 for i in range(p)])
    assert_close(to_host(out), expected, dtype, f"{fp8} prefill D{head_dim} page {page_size}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fp8", FP8)
@pytest.mark.parametrize(
    "head_dim, page_size, dtype",
    [
        (64, 16, "bfloat16"),
        (128, 1, "float16"),
        (128, 16, "bfloat16"),
        (128, 4, "bfloat16"),
        (192, 8, "bfloat16"),
        (256, 16, "float16"),
    ],
)
def test_prefill_fp8_long_histories(rng, device, layout, fp8, head_dim, page_size, dtype):
    """Histories of many key tiles (one not a multiple of a tile, one ending mid-page) beside
    prompts of several query tiles, so a CUDA CTA works through more than one item; on Hopper
    the tensor-core prefill widens the fp8 history tiles itself."""
    lengths = ([1030, 0, 700], [300, 129, 64])  # history and prompt of each sequence
    check_scaled_prefill(rng, device, layout, fp8, SCALES["per_head"], *lengths, head_dim, page_size, dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_prefill_fp8_splits_short_prompts_over_long_histories(rng, device, layout):
    """Few query rows over long fp8 histories: the CUDA prefill splits each item's keys (split-KV),
    the partial states merged with the scales applied once."""
    lengths = ([5000, 0, 3000], [7, 40, 1])
    check_scaled_prefill(
        rng, device, layout, "float8_e4m3fn", SCALES["per_head"], *lengths, 128, 16, "bfloat16"
    )


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fp8", FP8)
@pytest.mark.parametrize("source", ["bfloat16", "float16", "float32"])
@pytest.mark.parametrize("scales", ["one", "numbers", "per_head"])
@pytest.mark.parametrize("page_size", [16, 2, 8])
def test_fill_quantises_to_nearest_even_saturating(rng, device, layout, fp8, source, scales, page_size):
    """Pages of 2 and 8 slots: `pal` values a page's slots a store (under a 16-byte vector)."""
    tokens = 70
    pages = -(-(tokens + 3) // page_size) + 1
    k_cache = np.zeros(pal.get_k_cache_shape(pages, HKV, D, page_size, fp8, layout), FP8_DTYPES[fp8])
    v_cache = np.zeros(pal.get_v_cache_shape(pages, HKV, D, page_size, fp8, layout), FP8_DTYPES[fp8])
    # Keys reach far past the format's range (saturation), values down into its subnormals.
    keys = (random_array(rng, (tokens, HKV, D), "float32") * 3e4).astype(np.float32)
    values = (random_array(rng, (tokens, HKV, D), "float32") * 1e-2).astype(np.float32)
    keys, values = keys.astype(numpy_dtype(source)), values.astype(numpy_dtype(source))
    table = rng.permutation(pages)[: pages - 1].reshape(1, -1).astype(np.int32)
    positions = (np.arange(tokens) + 3).astype(np.int32)
    k_scale, v_scale = SCALES[scales]
    args = (keys, values, k_cache, v_cache, table, positions, np.zeros(tokens, np.int32))
    moved = [on_device(a, device) for a in args]
    scale_args = {"k_scale": on_device(k_scale, device), "v_scale": on_device(v_scale, device)}
    pal.fill_kv_pages(*moved, layout=layout, **scale_args)
    k_pool, v_pool = (pool_on_host(moved[2], fp8), pool_on_host(moved[3], fp8))
    for pool, new, scale, is_key in ((k_pool, keys, k_scale, True), (v_pool, values, v_scale, False)):
        got = read_sequence(from_layout(pool, layout, is_key=is_key), table[0], tokens + 3)[3:]
        want = quantise_fp8(new, scale, fp8)
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8), err_msg=f"{fp8} {is_key=}")
    largest = np.abs(keys.astype(np.float32)).max() / max(per_head(k_scale))
    assert largest > float(ml_dtypes.finfo(FP8_DTYPES[fp8]).max) or fp8 == "float8_e5m2", "covers saturation"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_fp8_pool_shapes(layout):
    for fp8 in FP8:
        shape = pal.get_k_cache_shape(10, 2, 128, 16, FP8_DTYPES[fp8], layout)
        assert pal.get_k_cache_shape(10, 2, 128, 16, fp8, layout) == shape
        if layout == "pal":
            assert shape == (10, 2, 8, 16, 16) and pal.get_k_cache_stripe_size(fp8) == 16
    torch = pytest.importorskip("torch")
    assert pal.get_v_cache_shape(10, 2, 128, 16, torch.float8_e4m3fn, layout) == pal.get_v_cache_shape(
        10, 2, 128, 16, "float8_e4m3fn", layout
    )


def test_bad_scales_and_dtype_pairs(rng, device):
    cache = paged_cache(rng, [20], HKV, D, 16, "float8_e4m3fn", "nhd")
    queries = random_array(rng, (1, HQ, D), "bfloat16")
    args = decode_args(cache, queries, device)

    def decode(**kwargs):
        return pal.paged_attention_decode(*args, layout="nhd", **kwargs)

    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=re.escape("`k_scale`") + ".*positive, finite"):
            decode(k_scale=bad)
    with pytest.raises(ValueError, match=re.escape("`v_scale`") + r".*\[num_kv_heads\] = \[2\]"):
        decode(v_scale=on_device(np.ones(3, np.float32), device))
    with pytest.raises(TypeError, match=re.escape("`k_scale`") + ".*float32"):
        decode(k_scale=on_device(np.ones(2, np.float16), device))
    if device == "cpu":
        with pytest.raises(ValueError, match=re.escape("`k_scale[1]`")):
            decode(k_scale=np.array([1.0, -2.0], np.float32))
        # A 0-d scale has no entries to index: it is named as itself.
        with pytest.raises(ValueError, match=re.escape("`k_scale` must be a positive, finite scale, got -1")):
            decode(k_scale=np.array(-1.0, np.float32))
    # Numbers float32 cannot hold are refused as given (not as the inf or 0 they would become).
    for bad, given in ((1e39, "1e39"), (1e-46, "1e-46")):
        with pytest.raises(
            ValueError, match=re.escape("`k_scale` must be a number that float32 holds") + f".*got {given}$"
        ):
            decode(k_scale=bad)
    with pytest.raises(
        TypeError, match=re.escape("`v_scale` must be a number or a float32 array, got bool True")
    ):
        decode(v_scale=True)
    other = on_device(cache.v_cache.view(np.uint8).view(ml_dtypes.float8_e5m2), device)
    with pytest.raises(TypeError, match=re.escape("`v_cache`") + ".*float8_e4m3fn"):
        pal.paged_attention_decode(args[0], args[1], other, *args[3:], layout="nhd")
    with pytest.raises(TypeError, match=re.escape("`queries`")):
        pal.paged_attention_decode(args[1].reshape(-1)[: HQ * D].reshape(1, HQ, D), *args[1:], layout="nhd")
    plain = paged_cache(rng, [20], HKV, D, 16, "bfloat16", "nhd")
    plain_args = decode_args(plain, queries, device)
    with pytest.raises(ValueError, match=re.escape("`k_scale`") + ".*fp8 pools"):
        pal.paged_attention_decode(*plain_args, layout="nhd", k_scale=2.0)
    # A scale of exactly 1 (vLLM passes one) is accepted on any pool.
    pal.paged_attention_decode(*plain_args, layout="nhd", k_scale=1.0, v_scale=1.0)


def test_scales_of_any_number_kind(rng, device):
    """A per-tensor scale may be any real number: numpy's scalars (whatever their dtype) and
    fractions mean their value; an integer beyond any float is refused naming the argument."""
    cache = paged_cache(rng, [20, 7], HKV, D, 16, "float8_e4m3fn", "nhd")
    args = decode_args(cache, random_array(rng, (2, HQ, D), "bfloat16"), device)

    def decode(**kwargs):
        return to_host(pal.paged_attention_decode(*args, layout="nhd", **kwargs))

    expected = decode(k_scale=0.5, v_scale=2.0)
    for k_scale, v_scale in [
        (np.float16(0.5), np.int32(2)),
        (Fraction(1, 2), 2),
        (np.float64(0.5), np.float32(2)),
    ]:
        np.testing.assert_array_equal(decode(k_scale=k_scale, v_scale=v_scale), expected)
    with pytest.raises(pal.PalValueError, match=re.escape("`k_scale` must be a finite number")):
        decode(k_scale=10**400)
    keys = on_device(random_array(rng, (1, HKV, D), "bfloat16"), device)
    slots = on_device(np.array([3], np.int32), device)
    with pytest.raises(pal.PalValueError, match=re.escape("`v_scale` must be a finite number")):
        pal.fill_kv_pages(keys, keys, args[1], args[2], slot_mapping=slots, layout="nhd", v_scale=-(10**400))
    with pytest.raises(pal.PalTypeError, match=re.escape("`check` must be True, False or None, got str")):
        pal.fill_kv_pages(keys, keys, args[1], args[2], slot_mapping=slots, layout="nhd", check="yes")


def test_fp8_pools_through_dlpack(rng):
    """torch float8 pools handed over as bare DLPack producers (kDLFloat8_e4m3fn / e5m2)."""
    pytest.importorskip("torch")

    class Producer:
        def __init__(self, tensor):
            self.tensor = tensor

        def __dlpack__(self, **kwargs):
            return self.tensor.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.tensor.__dlpack_device__()

    for fp8 in FP8:
        cache = paged_cache(rng, [40, 3], HKV, D, 16, fp8, "nhd")
        as_torch = [to_torch(a, "cpu") for a in (cache.k_cache, cache.v_cache)]
        try:
            as_torch[0].__dlpack__()
        except Exception as error:  # torch builds without fp8 DLPack export
            pytest.skip(f"torch cannot export {fp8} through DLPack: {error}")
        queries = random_array(rng, (2, HQ, D), "float32")
        tables = (cache.page_table, cache.lens)
        got = pal.paged_attention_decode(queries, *map(Producer, as_torch), *tables, layout="nhd")
        want = pal.paged_attention_decode(queries, cache.k_cache, cache.v_cache, *tables, layout="nhd")
        np.testing.assert_array_equal(got, want)
