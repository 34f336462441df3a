"""Checking PAL: the float64 oracle, the cache layouts, random paged caches and the one tolerance
table that PAL's tests, its benchmark lab and the GPU memcheck workload all use.

Everything here is written from SPEC §1-§3 with plain numpy indexing, independent of PAL's own
addressing, so that it can judge PAL:

- :func:`attention`, :func:`decode_reference`, :func:`prefill_reference`: float64 attention;
- :func:`to_layout`, :func:`from_layout`: contiguous pages ``[pages, page_size, HKV, D]`` to and
  from each cache layout (``"pal"``, ``"nhd"``, ``"hnd"``); :func:`read_sequence` follows a
  page-table row;
- :func:`paged_cache`: a random paged cache and the tokens it holds; :func:`random_array` and
  :func:`random_prompts`: fresh random inputs;
- :func:`kv_head_scales`, :func:`quantise_fp8`: fp8 scales per KV head, and the bits fill
  stores; :func:`pool_on_host`: a pool's bits on the host;
- :data:`TOLERANCE`, :func:`assert_close`, :func:`within_tolerance`: how close is close enough;
- :func:`cuda_available`, :func:`on_device`, :func:`to_host`: the same test on the CPU backend
  (numpy) and on CUDA (torch tensors);
- :func:`to_torch`, :func:`from_torch`: numpy <-> torch on any device, bfloat16 included (torch
  is imported only by these two).

Fill is checked exactly: after ``fill_kv_pages``, ``from_layout`` of a pool must equal the pages
written with plain indexing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import ml_dtypes
import numpy as np

#: The canonical float dtypes (SPEC §3) by name; numpy has bfloat16 only through ml_dtypes.
DTYPES = {
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}
#: fp8 KV pool dtypes (SPEC §3.5), numpy's through ml_dtypes; pools only, never queries.
FP8_DTYPES = {
    "float8_e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn),
    "float8_e5m2": np.dtype(ml_dtypes.float8_e5m2),
}


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype of a model or fp8 dtype name (ml_dtypes' where numpy has none)."""
    return DTYPES.get(name) or FP8_DTYPES[name]


#: The cache layouts (SPEC §2).
LAYOUTS = ("pal", "nhd", "hnd")

#: Absolute and relative tolerance of an output of magnitude about one against the float64
#: oracle, by dtype: ``|actual - expected| <= tol * (1 + |expected|)``. For the 16-bit types it
#: is about three units in the last place at one (the output and, in tensor-core peers, the
#: softmax weights are rounded to the dtype); for float32 (a unit is 1.2e-7) it leaves room for
#: float32 sums over tens of thousands of tokens. The tests and the benchmark's correctness
#: checks share it: the bench's worst errors are far inside it (CPU, MLX included: 6e-7 / 9e-4 /
#: 2.6e-3 for float32 / float16 / bfloat16; H100 bfloat16, PAL, torch SDPA and FlashInfer
#: alike: 8.5e-4), so the tests' tighter values serve both and no test got looser.
TOLERANCE = {"float32": 2e-5, "float16": 3e-3, "bfloat16": 2e-2}

# Scores the oracle holds at once (float64): bounds its memory on long prompts over long histories.
_SCORES_PER_BLOCK = 1 << 22


def within_tolerance(actual: Any, expected: np.ndarray, dtype: str) -> bool:
    """Whether ``actual`` is within :data:`TOLERANCE` of ``expected`` everywhere (NaN is not)."""
    tolerance = TOLERANCE[dtype]
    return bool(np.allclose(np.asarray(actual, np.float64), expected, rtol=tolerance, atol=tolerance))


def assert_close(actual: Any, expected: np.ndarray, dtype: str, what: str = "") -> None:
    """Asserts :func:`within_tolerance`, with numpy's report of the worst elements."""
    tolerance = TOLERANCE[dtype]
    np.testing.assert_allclose(
        np.asarray(actual, np.float64), expected, rtol=tolerance, atol=tolerance, err_msg=what
    )


def random_array(
    rng: np.random.Generator, shape: Sequence[int], dtype: str, distribution: str = "uniform"
) -> np.ndarray:
    """Fresh random values rounded to ``dtype``: uniform in [-1, 1) (the tests), or standard normal
    (the benchmark: scores of a realistic spread)."""
    if distribution == "uniform":
        values = rng.uniform(-1, 1, size=shape).astype(np.float32)
    elif distribution == "normal":
        values = rng.standard_normal(size=shape, dtype=np.float32)
    else:
        raise ValueError(f"distribution must be 'uniform' or 'normal', got {distribution!r}")
    return values.astype(numpy_dtype(dtype))


def random_prompts(
    rng: np.random.Generator,
    prompt_lens: Sequence[int],
    num_q_heads: int,
    num_kv_heads: int,
    head_dim: int,
    dtype: str,
    distribution: str = "uniform",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random ``q``, ``k``, ``v`` for prompts of these lengths, concatenated, and their int32
    ``cu_seqlens_q`` (SPEC §3.2)."""
    cu_seqlens = np.concatenate([[0], np.cumsum(prompt_lens, dtype=np.int64)]).astype(np.int32)
    total = int(cu_seqlens[-1])
    q = random_array(rng, (total, num_q_heads, head_dim), dtype, distribution)
    k = random_array(rng, (total, num_kv_heads, head_dim), dtype, distribution)
    v = random_array(rng, (total, num_kv_heads, head_dim), dtype, distribution)
    return q, k, v, cu_seqlens


def stripe_size(dtype: Any) -> int:
    """Elements per 16-byte stripe of the ``pal`` key layout (SPEC §2's ``x``)."""
    return 16 // np.dtype(dtype).itemsize


def to_layout(pages: np.ndarray, layout: str, *, is_key: bool) -> np.ndarray:
    """``[pages, page_size, HKV, D]`` pool contents in ``layout``'s pool shape (contiguous)."""
    num_pages, page_size, num_kv_heads, head_dim = pages.shape
    if layout == "nhd":
        pool = pages
    elif layout == "hnd":
        pool = pages.transpose(0, 2, 1, 3)
    elif layout == "pal" and is_key:
        x = stripe_size(pages.dtype)
        pool = pages.reshape(num_pages, page_size, num_kv_heads, head_dim // x, x).transpose(0, 2, 3, 1, 4)
    elif layout == "pal":
        pool = pages.transpose(0, 2, 3, 1)
    else:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    return np.ascontiguousarray(pool)


def from_layout(pool: np.ndarray, layout: str, *, is_key: bool) -> np.ndarray:
    """Inverse of :func:`to_layout`: a pool in ``layout`` as ``[pages, page_size, HKV, D]`` (a view
    where the layout allows one)."""
    if layout == "nhd":
        return pool
    if layout == "hnd":
        return pool.transpose(0, 2, 1, 3)
    if layout == "pal" and is_key:
        num_pages, num_kv_heads, dim_stripes, page_size, x = pool.shape
        return pool.transpose(0, 3, 1, 2, 4).reshape(num_pages, page_size, num_kv_heads, dim_stripes * x)
    if layout == "pal":
        return pool.transpose(0, 3, 1, 2)
    raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def kv_head_scales(scale: Any, num_kv_heads: int) -> np.ndarray:
    """An fp8 ``k_scale`` / ``v_scale`` as given to the ops (``None``: 1, a number, or one per KV
    head) as one float64 value per KV head (SPEC §3.5)."""
    value = np.asarray(1.0 if scale is None else scale, np.float64).reshape(-1)
    return np.broadcast_to(value, (num_kv_heads,))


def quantise_fp8(rows: np.ndarray, scale: Any, fp8: str) -> np.ndarray:
    """``[..., HKV, D]`` rows as ``fill_kv_pages`` stores them in an fp8 pool (SPEC §3.5): the
    float32 quotient ``x / scale`` of each KV head's scale, saturated to the format's largest
    finite value, rounded to nearest even (ml_dtypes' conversion)."""
    dtype = FP8_DTYPES[fp8]
    divisors = kv_head_scales(scale, rows.shape[-2]).astype(np.float32)[:, None]
    limit = float(ml_dtypes.finfo(dtype).max)
    return np.clip(np.asarray(rows, np.float32) / divisors, -limit, limit).astype(dtype)


def pool_on_host(pool: Any, dtype: str) -> np.ndarray:
    """A pool (numpy, or torch on any device) as a host numpy array of ``dtype``, bits unchanged
    (fp8 and bfloat16 included, which torch cannot hand to numpy as they are)."""
    if isinstance(pool, np.ndarray):
        return pool
    import torch

    # (flattened first: a contiguous tensor may keep any stride on a dim of size 1, as `pal` V
    # pools of one slot a page do, and torch's byte view asks stride 1 of the last dim)
    host = pool.detach().cpu().contiguous()
    return host.reshape(-1).view(torch.uint8).numpy().view(numpy_dtype(dtype)).reshape(tuple(host.shape))


def read_sequence(pages: np.ndarray, page_table_row: np.ndarray, length: int) -> np.ndarray:
    """The first ``length`` tokens of the sequence whose page-table row is ``page_table_row``,
    read from ``[pages, page_size, HKV, D]`` pool contents: a new ``[length, HKV, D]`` array."""
    page_size = pages.shape[1]
    used = np.asarray(page_table_row[: -(-length // page_size)])
    return pages[used].reshape(-1, *pages.shape[2:])[:length]


@dataclass
class PagedCache:
    """A paged KV cache (SPEC §1-§2) and the tokens it holds."""

    #: Key pool in ``layout``.
    k_cache: np.ndarray
    #: Value pool in ``layout``.
    v_cache: np.ndarray
    #: int32 ``[num_seqs, pages_per_sequence]``; -1 past each sequence's pages.
    page_table: np.ndarray
    #: int32 ``[num_seqs]``: tokens of each sequence in the cache.
    lens: np.ndarray
    #: Per sequence, its keys ``[len, HKV, D]`` in the pools' dtype (copies, not views of the pool).
    keys: list[np.ndarray]
    #: Per sequence, its values, likewise.
    values: list[np.ndarray]
    layout: str


def paged_cache(
    rng: np.random.Generator,
    lens: Sequence[int],
    num_kv_heads: int,
    head_dim: int,
    page_size: int,
    dtype: str,
    layout: str,
    *,
    spare_pages: int = 3,
    spare_columns: int = 1,
    distribution: str = "uniform",
) -> PagedCache:
    """A random history of ``lens[b]`` tokens for each sequence ``b``, on pages in random order.

    Every slot of the pools holds a random value, so reading a wrong slot shows. By default the
    pools also have pages no sequence uses (``spare_pages``) and every page-table row ends in
    entries of -1 that must be ignored (``spare_columns``); with both at zero the page table is
    a permutation of all pages (what the benchmark's peers rebuild their own pools from)."""
    pages_used = [-(-int(n) // page_size) for n in lens]
    num_pages = sum(pages_used) + spare_pages
    shape = (num_pages, page_size, num_kv_heads, head_dim)
    k_pages = random_array(rng, shape, dtype, distribution)
    v_pages = random_array(rng, shape, dtype, distribution)
    order = rng.permutation(num_pages).astype(np.int32)
    page_table = np.full((len(lens), max(pages_used, default=0) + spare_columns), -1, np.int32)
    first = np.cumsum([0, *pages_used])
    for b, used in enumerate(pages_used):
        page_table[b, :used] = order[first[b] : first[b] + used]
    return PagedCache(
        k_cache=to_layout(k_pages, layout, is_key=True),
        v_cache=to_layout(v_pages, layout, is_key=False),
        page_table=page_table,
        lens=np.asarray(lens, np.int32),
        keys=[read_sequence(k_pages, row, int(n)) for row, n in zip(page_table, lens)],
        values=[read_sequence(v_pages, row, int(n)) for row, n in zip(page_table, lens)],
        layout=layout,
    )


def with_nan_past_the_end(cache: PagedCache, layout: str) -> PagedCache:
    """``cache`` (built in ``nhd``) in ``layout``, with NaN in the slots of each sequence's last
    page past its length: what a reused page, or a pool from ``torch.empty``, may hold there and
    what no op may let in."""
    assert cache.layout == "nhd", "built in nhd: [page][slot][head][dim]"
    page_size = cache.k_cache.shape[1]
    k, v = cache.k_cache.copy(), cache.v_cache.copy()
    for row, n in zip(cache.page_table, cache.lens):
        if n > 0:
            k[row[(n - 1) // page_size], n % page_size or page_size :] = np.nan
            v[row[(n - 1) // page_size], n % page_size or page_size :] = np.nan
    return replace(
        cache,
        k_cache=to_layout(k, layout, is_key=True),
        v_cache=to_layout(v, layout, is_key=False),
        layout=layout,
    )


def attention(
    queries: Any,
    keys: Any,
    values: Any,
    visible: Sequence[int],
    scale: float | None = None,
    window_left: int = -1,
    logits_soft_cap: float = 0.0,
    alibi_slopes: Any = None,
    sinks: Any = None,
) -> np.ndarray:
    """Float64 attention: ``queries`` ``[n, HQ, D]`` over ``keys`` / ``values`` ``[L, HKV, D]``,
    query head ``h`` reading KV head ``h // (HQ / HKV)``; row ``i`` sits at position
    ``visible[i] - 1`` and sees the first ``visible[i]`` keys. A row that sees nothing gives
    zeros. ``scale`` defaults to ``1/sqrt(D)``. SPEC §3.5, in its order: the scale, then the
    soft-cap (``c * tanh(x / c)``, 0: off), then ALiBi (``+ alibi_slopes[h] * (j - i)``), then
    the window (key ``j`` visible only if ``i - j <= window_left``, -1: off), then the softmax,
    whose denominator gains ``exp(sinks[h] - m)`` per head when ``sinks`` is given."""
    queries = np.asarray(queries, np.float64)
    n, num_q_heads, head_dim = queries.shape
    num_kv_heads = np.shape(keys)[1]
    group = num_q_heads // num_kv_heads
    scale = 1.0 / np.sqrt(head_dim) if scale is None else scale
    visible = np.asarray(visible, np.int64).reshape(n)
    longest = int(visible.max(initial=0))
    # Contiguous per KV head, so that the products below run as BLAS matrix products.
    keys = np.ascontiguousarray(np.asarray(keys[:longest], np.float64).transpose(1, 2, 0))  # [HKV, D, L]
    values = np.ascontiguousarray(np.asarray(values[:longest], np.float64).transpose(1, 0, 2))  # [HKV, L, D]
    # A KV head's query heads of every row as the rows of one matrix: [HKV, n, G, D].
    grouped = queries.reshape(n, num_kv_heads, group, head_dim).transpose(1, 0, 2, 3)
    out = np.zeros((n, num_q_heads, head_dim))
    rows_per_block = max(1, _SCORES_PER_BLOCK // max(num_q_heads * longest, 1))
    for start in range(0, n, rows_per_block):
        rows = slice(start, start + rows_per_block)
        seen = int(visible[rows].max(initial=0))
        if seen == 0:
            continue
        block_queries = grouped[:, rows].reshape(num_kv_heads, -1, head_dim)
        scores = scale * (block_queries @ keys[:, :, :seen])  # [HKV, rows * G, seen]
        if logits_soft_cap:
            scores = logits_soft_cap * np.tanh(scores / logits_soft_cap)
        limit = np.repeat(visible[rows], group)[:, None]
        # Query head of each score row: [HKV, rows * G] (row-major over rows, then the group).
        block_rows = len(visible[rows])
        heads = np.arange(num_q_heads).reshape(num_kv_heads, 1, group).repeat(block_rows, axis=1)
        heads = heads.reshape(num_kv_heads, block_rows * group)
        if alibi_slopes is not None:
            slopes = np.asarray(alibi_slopes, np.float64)[heads][:, :, None]
            scores = scores + slopes * (np.arange(seen)[None, None, :] - (limit[None] - 1))
        hidden = np.arange(seen)[None, :] >= limit
        if window_left >= 0:
            hidden |= np.arange(seen)[None, :] < limit - 1 - window_left
        scores[:, hidden] = -np.inf
        peak = scores.max(axis=-1, keepdims=True)
        sink = None if sinks is None else np.asarray(sinks, np.float64)[heads][:, :, None]
        if sink is not None:
            peak = np.maximum(peak, sink)
        weights = np.exp(scores - np.where(np.isfinite(peak), peak, 0.0))
        total = weights.sum(axis=-1, keepdims=True)
        if sink is not None:
            total = total + np.exp(sink - peak)
        weights /= np.where(total > 0, total, 1.0)
        block = (weights @ values[:, :seen]).reshape(num_kv_heads, -1, group, head_dim)
        out[rows] = block.transpose(1, 0, 2, 3).reshape(-1, num_q_heads, head_dim)
    return out


def decode_reference(queries: Any, cache: PagedCache, scale: float | None = None, **variant) -> np.ndarray:
    """SPEC §3.1 in float64: each sequence's query over all of its tokens in ``cache``
    (``variant``: ``window_left``, ``logits_soft_cap`` as for :func:`attention`)."""
    out = np.zeros(np.shape(queries))
    for b, length in enumerate(cache.lens):
        out[b : b + 1] = attention(
            queries[b : b + 1], cache.keys[b], cache.values[b], [length], scale, **variant
        )
    return out


def prefill_reference(
    q: Any,
    k: Any,
    v: Any,
    cache: PagedCache,
    cu_seqlens: Sequence[int],
    scale: float | None = None,
    **variant,
) -> np.ndarray:
    """SPEC §3.2 in float64: prompt token ``i`` of sequence ``b`` sees the ``cache.lens[b]``
    history tokens of ``b`` and prompt tokens ``0..=i`` of ``b`` (rows ``cu_seqlens[b]`` to
    ``cu_seqlens[b + 1]`` of ``q``, ``k``, ``v``)."""
    out = np.zeros(np.shape(q))
    for b, history in enumerate(cache.lens):
        lo, hi = int(cu_seqlens[b]), int(cu_seqlens[b + 1])
        keys = np.concatenate([np.asarray(cache.keys[b], np.float64), np.asarray(k[lo:hi], np.float64)])
        values = np.concatenate([np.asarray(cache.values[b], np.float64), np.asarray(v[lo:hi], np.float64)])
        visible = int(history) + 1 + np.arange(hi - lo)
        out[lo:hi] = attention(q[lo:hi], keys, values, visible, scale, **variant)
    return out


def to_torch(array: np.ndarray, device: str):
    """A torch tensor with ``array``'s values and dtype on ``device`` (bfloat16 included, which
    ``torch.from_numpy`` cannot read); on the CPU it shares ``array``'s memory when contiguous."""
    import torch

    array = np.ascontiguousarray(array)
    if array.dtype == DTYPES["bfloat16"]:
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16).to(device)
    if array.dtype.name in FP8_DTYPES:
        return torch.from_numpy(array.view(np.uint8)).view(getattr(torch, array.dtype.name)).to(device)
    return torch.from_numpy(array).to(device)


def from_torch(tensor) -> np.ndarray:
    """A torch tensor's values as a float32 numpy array on the host (exact for every PAL dtype)."""
    return tensor.detach().float().cpu().numpy()


def cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def on_device(array: Any, device: str) -> Any:
    """A numpy array as the arrays of a backend: itself for ``"cpu"``, a torch tensor on ``"cuda"``
    or, for ``"torch-cpu"``, on the CPU (sharing the array's memory where it is contiguous), an
    MLX array for ``"mlx"`` (the CPU backend through MLX's buffers; bfloat16 included); anything
    that is not a numpy array passes unchanged."""
    if device == "cpu" or not isinstance(array, np.ndarray):
        return array
    if device == "torch-cpu":
        return to_torch(array, "cpu")
    if device == "mlx":
        import mlx.core as mx

        if array.dtype == DTYPES["bfloat16"]:
            return mx.array(array.astype(np.float32)).astype(mx.bfloat16)
        return mx.array(array)
    return to_torch(array, device)


def to_host(array: Any) -> np.ndarray:
    """A result as a numpy array: numpy as it is, torch through :func:`from_torch`, MLX arrays
    as float32 (exact for every PAL dtype)."""
    if isinstance(array, np.ndarray):
        return array
    if type(array).__module__.startswith("mlx"):
        import mlx.core as mx

        return np.array(array.astype(mx.float32))
    return from_torch(array)
