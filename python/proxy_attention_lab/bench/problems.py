"""Benchmark problems: dense random K/V scattered into pages in random order, so every
implementation sees the same tokens (paged for PAL, contiguous for the SDPA peers)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import proxy_attention_lab as pal

from .._arrays import _numpy_dtype

ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2}


@dataclass(frozen=True)
class Shape:
    """Head geometry shared by all cases of a sweep (SPEC §7's standard case by default)."""

    num_q_heads: int = 32
    num_kv_heads: int = 8
    head_dim: int = 128
    page_size: int = 16
    dtype: str = "bfloat16"
    layout: str = "pal"


@dataclass
class PagedProblem:
    """Host arrays for one case. ``keys``/``values`` are dense ``[B, L, HKV, D]``; the pools hold
    the same tokens on shuffled pages."""

    shape: Shape
    lens: list[int]
    keys: np.ndarray
    values: np.ndarray
    k_cache: np.ndarray
    v_cache: np.ndarray
    page_table: np.ndarray
    seq_lens: np.ndarray
    extra: dict = field(default_factory=dict)


def random_array(rng: np.random.Generator, shape, dtype: str) -> np.ndarray:
    return rng.standard_normal(size=shape, dtype=np.float32).astype(_numpy_dtype(dtype))


def to_pool_layout(pages: np.ndarray, layout: str, is_key: bool, dtype: str) -> np.ndarray:
    """``[pages, page_size, HKV, D]`` contents in ``layout``'s pool shape."""
    num_pages, page_size, heads, dim = pages.shape
    if layout == "nhd":
        return pages
    if layout == "hnd":
        return np.ascontiguousarray(pages.transpose(0, 2, 1, 3))
    if is_key:
        x = pal.get_k_cache_stripe_size(dtype)
        return np.ascontiguousarray(
            pages.reshape(num_pages, page_size, heads, dim // x, x).transpose(0, 2, 3, 1, 4)
        )
    return np.ascontiguousarray(pages.transpose(0, 2, 3, 1))


def paged_problem(rng: np.random.Generator, shape: Shape, batch: int, context: int) -> PagedProblem:
    """``batch`` sequences of ``context`` cached tokens each, pages in random order."""
    ps = shape.page_size
    pages_per_seq = -(-context // ps)
    num_pages = batch * pages_per_seq
    keys = random_array(rng, (batch, pages_per_seq * ps, shape.num_kv_heads, shape.head_dim), shape.dtype)
    values = random_array(rng, keys.shape, shape.dtype)
    order = rng.permutation(num_pages).astype(np.int32)
    page_table = order.reshape(batch, pages_per_seq)
    inverse = np.argsort(order)  # physical page -> (sequence, logical page)

    def pool(dense: np.ndarray, is_key: bool) -> np.ndarray:
        pages = dense.reshape(num_pages, ps, shape.num_kv_heads, shape.head_dim)[inverse]
        return to_pool_layout(pages, shape.layout, is_key, shape.dtype)

    return PagedProblem(
        shape=shape,
        lens=[context] * batch,
        keys=keys[:, :context],
        values=values[:, :context],
        k_cache=pool(keys, True),
        v_cache=pool(values, False),
        page_table=page_table,
        seq_lens=np.full(batch, context, np.int32),
    )


def reference_attention(
    queries: np.ndarray, keys: np.ndarray, values: np.ndarray, causal_offset: int | None
) -> np.ndarray:
    """Float64 attention of ``queries`` ``[n, HQ, D]`` over ``keys``/``values`` ``[L, HKV, D]``;
    with ``causal_offset`` h, query row i sees keys ``0..=h+i``."""
    q = queries.astype(np.float64)
    n, hq, d = q.shape
    group = hq // keys.shape[1]
    k = np.repeat(keys.astype(np.float64), group, axis=1)
    v = np.repeat(values.astype(np.float64), group, axis=1)
    scores = np.einsum("nhd,lhd->hnl", q, k) / np.sqrt(d)
    if causal_offset is not None:
        visible = np.arange(k.shape[0])[None, :] <= causal_offset + np.arange(n)[:, None]
        scores = np.where(visible[None], scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return np.einsum("hnl,lhd->nhd", weights, v)
