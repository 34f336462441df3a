"""Benchmark problems: random K/V on pages in random order and the same tokens dense, so every
implementation sees the same tokens (paged for PAL, contiguous for the SDPA peers)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..testing import paged_cache


@dataclass(frozen=True)
class Shape:
    """Head geometry shared by all cases of a sweep (SPEC §7's standard case by default)."""

    num_q_heads: int = 32
    num_kv_heads: int = 8
    head_dim: int = 128
    page_size: int = 16
    dtype: str = "bfloat16"
    layout: str = "pal"
    # SPEC §3.5's scalar variant options (-1 / 0: off), passed to PAL, the oracle and the peers
    # that have them.
    window_left: int = -1
    logits_soft_cap: float = 0.0

    def variant(self) -> dict:
        """The variant keywords of PAL's calls and the oracle (empty for plain attention)."""
        options = {"window_left": self.window_left, "logits_soft_cap": self.logits_soft_cap}
        return {k: v for k, v in options.items() if v not in (-1, 0.0)}


@dataclass
class PagedProblem:
    """Host arrays for one case. ``keys``/``values`` are dense ``[B, L, HKV, D]``; the pools hold
    the same tokens on shuffled pages."""

    shape: Shape
    keys: np.ndarray
    values: np.ndarray
    k_cache: np.ndarray
    v_cache: np.ndarray
    page_table: np.ndarray
    seq_lens: np.ndarray


def paged_problem(rng: np.random.Generator, shape: Shape, batch: int, context: int) -> PagedProblem:
    """``batch`` sequences of ``context`` cached tokens each, pages in random order. Every page
    belongs to a sequence and the page table has no padding: the peers rebuild their own pools
    from the dense tokens with the page table as the page order."""
    s = shape
    cache = paged_cache(
        rng, [context] * batch, s.num_kv_heads, s.head_dim, s.page_size, s.dtype, s.layout,
        spare_pages=0, spare_columns=0, distribution="normal",
    )  # fmt: skip
    return PagedProblem(
        shape=shape,
        keys=np.stack(cache.keys),
        values=np.stack(cache.values),
        k_cache=cache.k_cache,
        v_cache=cache.v_cache,
        page_table=cache.page_table,
        seq_lens=cache.lens,
    )
