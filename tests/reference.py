"""Float64 oracle and paged-cache builders written from SPEC §2 with plain numpy indexing,
independent of PAL's own addressing."""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

DTYPES = {
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}
# Absolute + relative tolerance for outputs of magnitude about one, by dtype (stated once).
TOLERANCE = {"float32": 2e-5, "float16": 3e-3, "bfloat16": 2e-2}
LAYOUTS = ("pal", "nhd", "hnd")


def assert_close(actual, expected, dtype: str, what: str = "") -> None:
    actual = np.asarray(actual, dtype=np.float64)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=what)


def random(rng: np.random.Generator, shape, dtype: str) -> np.ndarray:
    """Uniform values in [-1, 1) rounded to ``dtype``."""
    return rng.uniform(-1, 1, size=shape).astype(np.float32).astype(DTYPES[dtype])


def stripe(dtype: str) -> int:
    return 16 // DTYPES[dtype].itemsize


def to_layout(pages_nhd: np.ndarray, layout: str, is_key: bool) -> np.ndarray:
    """``[pages, page_size, HKV, D]`` pool contents in ``layout``'s shape."""
    pages, page_size, heads, dim = pages_nhd.shape
    if layout == "nhd":
        out = pages_nhd
    elif layout == "hnd":
        out = pages_nhd.transpose(0, 2, 1, 3)
    elif is_key:
        x = stripe(pages_nhd.dtype.name)
        out = pages_nhd.reshape(pages, page_size, heads, dim // x, x).transpose(0, 2, 3, 1, 4)
    else:
        out = pages_nhd.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(out)


def from_layout(pool: np.ndarray, layout: str, is_key: bool) -> np.ndarray:
    """Inverse of :func:`to_layout`: the pool as ``[pages, page_size, HKV, D]``."""
    if layout == "nhd":
        return pool
    if layout == "hnd":
        return pool.transpose(0, 2, 1, 3)
    if is_key:
        pages, heads, d_over_x, page_size, x = pool.shape
        return pool.transpose(0, 3, 1, 2, 4).reshape(pages, page_size, heads, d_over_x * x)
    return pool.transpose(0, 3, 1, 2)


@dataclass
class PagedCache:
    k_cache: np.ndarray
    v_cache: np.ndarray
    page_table: np.ndarray
    lens: np.ndarray
    keys: list[np.ndarray]  # per sequence, [len, HKV, D] float64
    values: list[np.ndarray]
    layout: str


def paged_cache(rng, lens, num_kv_heads, head_dim, page_size, dtype, layout, spare_pages=3) -> PagedCache:
    """Random history of ``lens`` tokens per sequence on shuffled pages; free pages hold noise."""
    used = [-(-n // page_size) for n in lens]
    num_pages = sum(used) + spare_pages
    per_seq = max(used, default=0) + 1
    pool_k = random(rng, (num_pages, page_size, num_kv_heads, head_dim), dtype)
    pool_v = random(rng, (num_pages, page_size, num_kv_heads, head_dim), dtype)
    free = list(rng.permutation(num_pages))
    page_table = np.full((len(lens), per_seq), -1, dtype=np.int32)
    keys, values = [], []
    for b, n in enumerate(lens):
        pages = [int(free.pop()) for _ in range(used[b])]
        page_table[b, : len(pages)] = pages
        rows = [(pages[t // page_size], t % page_size) for t in range(n)]
        keys.append(
            np.array([pool_k[p, s] for p, s in rows], dtype=np.float64).reshape(n, num_kv_heads, head_dim)
        )
        values.append(
            np.array([pool_v[p, s] for p, s in rows], dtype=np.float64).reshape(n, num_kv_heads, head_dim)
        )
    return PagedCache(
        k_cache=to_layout(pool_k, layout, True),
        v_cache=to_layout(pool_v, layout, False),
        page_table=page_table,
        lens=np.asarray(lens, dtype=np.int32),
        keys=keys,
        values=values,
        layout=layout,
    )


def attention(queries, keys, values, visible, scale=None) -> np.ndarray:
    """Float64 attention. ``queries`` ``[n, HQ, D]``; row ``i`` sees the first ``visible[i]``
    rows of ``keys`` / ``values`` (``[len, HKV, D]``). Rows that see nothing give zeros."""
    queries = np.asarray(queries, dtype=np.float64)
    n, hq, d = queries.shape
    hkv = keys.shape[1]
    scale = 1.0 / np.sqrt(d) if scale is None else scale
    keys = np.repeat(keys, hq // hkv, axis=1)  # query head h reads KV head h // group
    values = np.repeat(values, hq // hkv, axis=1)
    out = np.zeros((n, hq, d))
    for i in range(n):
        seen = visible[i]
        if seen == 0:
            continue
        scores = scale * np.einsum("hd,thd->ht", queries[i], keys[:seen])
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        out[i] = np.einsum("ht,thd->hd", weights, values[:seen])
    return out


def decode_reference(queries, cache: PagedCache, scale=None) -> np.ndarray:
    return (
        np.concatenate(
            [
                attention(queries[b : b + 1], cache.keys[b], cache.values[b], [int(n)], scale)
                for b, n in enumerate(cache.lens)
            ]
        )
        if len(cache.lens)
        else np.zeros(np.shape(queries))
    )


def prefill_reference(q, k, v, cache: PagedCache, cu_seqlens, scale=None) -> np.ndarray:
    out = np.zeros(np.shape(q))
    for b, history in enumerate(cache.lens):
        lo, hi = int(cu_seqlens[b]), int(cu_seqlens[b + 1])
        keys = np.concatenate([cache.keys[b], np.asarray(k[lo:hi], dtype=np.float64)])
        values = np.concatenate([cache.values[b], np.asarray(v[lo:hi], dtype=np.float64)])
        visible = [int(history) + i + 1 for i in range(hi - lo)]
        out[lo:hi] = attention(q[lo:hi], keys, values, visible, scale)
    return out
