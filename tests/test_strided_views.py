"""Strided views (SPEC §3.4): queries, q / k / v, new keys and values and `out` may be views whose
last dimension is contiguous, as an engine slices them out of one fused QKV projection; results
equal those of contiguous copies, on the CPU (numpy) and, where there is a GPU, on CUDA (torch).
Other layouts are still refused, naming the argument."""

import numpy as np
import proxy_attention_lab as pal
import pytest
from conftest import BareDLPack
from proxy_attention_lab.testing import (
    on_device,
    paged_cache,
    random_array,
    random_prompts,
    to_host,
)


def on(device, array):
    return on_device(array, device)


def fused_qkv(rng, tokens, hq, hkv, dim, dtype):
    """q, k, v as views into one [tokens, (hq + 2 hkv) * dim] projection, and their copies."""
    qkv = random_array(rng, (tokens, (hq + 2 * hkv) * dim), dtype)
    q = qkv[:, : hq * dim].reshape(tokens, hq, dim)
    k = qkv[:, hq * dim : (hq + hkv) * dim].reshape(tokens, hkv, dim)
    v = qkv[:, (hq + hkv) * dim :].reshape(tokens, hkv, dim)
    assert not q.flags.c_contiguous and q.strides[-1] == q.itemsize
    return qkv, (q, k, v)


def views(device, qkv, hq, hkv, dim):
    """The same slicing on the device's copy of the projection."""
    fused = on(device, qkv)
    tokens = fused.shape[0]
    return (
        fused[:, : hq * dim].reshape(tokens, hq, dim),
        fused[:, hq * dim : (hq + hkv) * dim].reshape(tokens, hkv, dim),
        fused[:, (hq + hkv) * dim :].reshape(tokens, hkv, dim),
    )


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_decode_takes_strided_queries_and_out(rng, device, dtype):
    cache = paged_cache(rng, [40, 0, 17], 2, 64, 16, dtype, "pal")
    qkv, (q, _, _) = fused_qkv(rng, 3, 4, 2, 64, dtype)
    tables = [on(device, a) for a in (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    expected = to_host(pal.paged_attention_decode(on(device, np.ascontiguousarray(q)), *tables))
    queries = views(device, qkv, 4, 2, 64)[0]
    np.testing.assert_array_equal(to_host(pal.paged_attention_decode(queries, *tables)), expected)
    # `out` as a view into a wider buffer: written in place, the rest untouched.
    buffer = on(device, np.zeros((3, 4, 80), q.dtype))
    out = buffer[:, :, :64]
    result = pal.paged_attention_decode(queries, *tables, out=out)
    assert result is out
    np.testing.assert_array_equal(to_host(buffer)[:, :, :64], expected)
    assert not to_host(buffer)[:, :, 64:].any()


def test_prefill_takes_strided_q_k_v(rng, device):
    cache = paged_cache(rng, [0, 16, 30], 2, 64, 16, "float32", "nhd")
    _, _, _, cu = random_prompts(rng, [3, 1, 5], 4, 2, 64, "float32")
    qkv, (q, k, v) = fused_qkv(rng, 9, 4, 2, 64, "float32")
    tables = [on(device, a) for a in (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    cu = on(device, np.asarray(cu, np.int32))
    dense = [on(device, np.ascontiguousarray(a)) for a in (q, k, v)]
    expected = to_host(pal.paged_attention_prefill(*dense, *tables, cu, layout="nhd"))
    out = pal.paged_attention_prefill(*views(device, qkv, 4, 2, 64), *tables, cu, layout="nhd")
    np.testing.assert_array_equal(to_host(out), expected)


@pytest.mark.parametrize("layout", ["pal", "nhd"])
def test_fill_takes_strided_new_keys_and_values(rng, device, layout):
    pages, heads, dim, page = 4, 2, 64, 8
    pools = [
        np.zeros(shape(pages, heads, dim, page, "float32", layout), np.float32)
        for shape in (pal.get_k_cache_shape, pal.get_v_cache_shape)
    ]
    slots = np.array([3, 9, 17, 30, -1], np.int32)
    qkv, (_, k, v) = fused_qkv(rng, 5, 2, heads, dim, "float32")
    expected = [on(device, p) for p in pools]
    pal.fill_kv_pages(
        on(device, np.ascontiguousarray(k)), on(device, np.ascontiguousarray(v)), *expected,
        slot_mapping=on(device, slots), layout=layout,
    )  # fmt: skip
    actual = [on(device, p) for p in pools]
    _, keys, values = views(device, qkv, 2, heads, dim)
    pal.fill_kv_pages(keys, values, *actual, slot_mapping=on(device, slots), layout=layout)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(to_host(a), to_host(e))


def test_other_layouts_are_still_refused(rng):
    cache = paged_cache(rng, [10], 1, 32, 8, "float32", "pal")
    transposed = random_array(rng, (1, 32, 2), "float32").transpose(0, 2, 1)  # last dim strided
    with pytest.raises(pal.PalValueError, match="queries"):
        pal.paged_attention_decode(transposed, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)


def test_a_strided_out_over_an_input_is_refused(rng, device):
    """A strided `out` is written through a contiguous array, so the facade makes the native
    check that an output shares no bytes with what the call reads: a view over a pool or over
    the queries is refused as a contiguous `out` would be, naming both."""
    cache = paged_cache(rng, [40, 17], 2, 64, 16, "float32", "nhd")
    arrays = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    k_cache, v_cache, table, lens = (on(device, a) for a in arrays)
    qkv, _ = fused_qkv(rng, 2, 4, 2, 64, "float32")
    fused = on(device, qkv)
    queries, k, v = (fused[:, a:b].reshape(2, -1, 64) for a, b in ((0, 256), (256, 384), (384, 512)))

    def over(pool):  # a [2, 4, 64] view with rows 80 apart over the pool's first bytes
        return pool.reshape(-1)[: 2 * 4 * 80].reshape(2, 4, 80)[:, :, :64]

    with pytest.raises(pal.PalValueError, match="`out` must not overlap `v_cache`"):
        pal.paged_attention_decode(queries, k_cache, v_cache, table, lens, layout="nhd", out=over(v_cache))
    with pytest.raises(pal.PalValueError, match="`out` must not overlap `queries`"):
        out = fused[:, :256].reshape(2, 4, 64)
        pal.paged_attention_decode(queries, k_cache, v_cache, table, lens, layout="nhd", out=out)
    cu = on(device, np.array([0, 1, 2], np.int32))
    with pytest.raises(pal.PalValueError, match="`out` must not overlap `k_cache`"):
        pal.paged_attention_prefill(
            queries, k, v, k_cache, v_cache, table, lens, cu, layout="nhd", out=over(k_cache)
        )
    # The pools are untouched.
    np.testing.assert_array_equal(to_host(k_cache), cache.k_cache)
    np.testing.assert_array_equal(to_host(v_cache), cache.v_cache)


def test_strided_views_through_dlpack(rng):
    """Row views that reach PAL only through `__dlpack__` (a bare producer here, MLX below) are
    taken as numpy's are: the results equal the contiguous copies', and a fill writes the same
    pools; a view whose last dimension is strided is still refused."""
    cache = paged_cache(rng, [40, 0, 17], 2, 64, 16, "float32", "nhd")
    tables = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    qkv, (q, k, v) = fused_qkv(rng, 3, 4, 2, 64, "float32")
    expected = pal.paged_attention_decode(np.ascontiguousarray(q), *tables, layout="nhd")
    np.testing.assert_array_equal(pal.paged_attention_decode(BareDLPack(q), *tables, layout="nhd"), expected)
    cu = np.array([0, 1, 1, 3], np.int32)
    dense = [np.ascontiguousarray(a) for a in (q, k, v)]
    expected = pal.paged_attention_prefill(*dense, *tables, cu, layout="nhd")
    given = pal.paged_attention_prefill(*(BareDLPack(a) for a in (q, k, v)), *tables, cu, layout="nhd")
    np.testing.assert_array_equal(given, expected)
    pools = [np.zeros_like(cache.k_cache), np.zeros_like(cache.v_cache)]
    copies = [np.zeros_like(cache.k_cache), np.zeros_like(cache.v_cache)]
    slots = np.array([3, 9, -1], np.int32)
    pal.fill_kv_pages(*dense[1:], *copies, slot_mapping=slots, layout="nhd")
    pal.fill_kv_pages(BareDLPack(k), BareDLPack(v), *pools, slot_mapping=slots, layout="nhd")
    for a, e in zip(pools, copies):
        np.testing.assert_array_equal(a, e)
    transposed = random_array(rng, (3, 64, 4), "float32").transpose(0, 2, 1)
    with pytest.raises(pal.PalValueError, match="queries"):
        pal.paged_attention_decode(BareDLPack(transposed), *tables, layout="nhd")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_mlx_slices_of_a_fused_projection(rng, dtype):
    """MLX slices (bfloat16 too, which numpy cannot import through DLPack) are taken, and the
    result stays an MLX array."""
    mx = pytest.importorskip("mlx.core")
    cache = paged_cache(rng, [40, 17], 2, 64, 16, dtype, "pal")
    tables = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    qkv, (q, _, _) = fused_qkv(rng, 2, 4, 2, 64, dtype)
    expected = pal.paged_attention_decode(np.ascontiguousarray(q), *tables)
    fused = mx.array(qkv.astype(np.float32)).astype(getattr(mx, dtype))
    queries = fused[:, : 4 * 64].reshape(2, 4, 64)
    result = pal.paged_attention_decode(queries, *tables)
    assert isinstance(result, mx.array)
    np.testing.assert_array_equal(np.asarray(result.astype(mx.float32)), expected.astype(np.float32))
