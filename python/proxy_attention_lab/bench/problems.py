"""Benchmark problems: random K/V on pages in random order and the same tokens dense, so every
implementation sees the same tokens (paged for PAL, contiguous for the SDPA peers)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..testing import numpy_dtype, paged_cache


@dataclass(frozen=True)
class Shape:
    """Head geometry shared by all cases of a sweep (SPEC §7's standard case by default)."""

    num_q_heads: int = 32
    num_kv_heads: int = 8
    head_dim: int = 128
    page_size: int = 16
    dtype: str = "bfloat16"
    layout: str = "pal"
    # SPEC §3.5's variant options (-1 / 0 / False: off), passed to PAL, the oracle and the peers
    # that have them (`--variant`, parsed by `parse_variant`).
    window_left: int = -1
    logits_soft_cap: float = 0.0
    alibi: bool = False  # BLOOM's slopes for the query heads
    sinks: bool = False  # one sink logit per query head, from -1 to 1
    # The pools' dtype when it is not `dtype`: an fp8 type (`--kv-dtype`, SPEC §3.5; scale 1).
    kv_dtype: str = ""

    @property
    def pool_dtype(self) -> str:
        return self.kv_dtype or self.dtype

    def variant(self) -> dict:
        """The variant keywords of PAL's calls and the oracle (empty for plain attention); ALiBi
        slopes and sinks as float32 numpy vectors."""
        options: dict = {"window_left": self.window_left, "logits_soft_cap": self.logits_soft_cap}
        options = {k: v for k, v in options.items() if v not in (-1, 0.0)}
        heads = np.arange(1, self.num_q_heads + 1, dtype=np.float32)
        if self.alibi:
            options["alibi_slopes"] = 2.0 ** (-8.0 * heads / self.num_q_heads)
        if self.sinks:
            options["sinks"] = np.linspace(-1.0, 1.0, self.num_q_heads, dtype=np.float32)
        return options

    def page_bytes(self) -> int:
        """Bytes of a page of every KV head in the pools (what a CPU decode item reads whole)."""
        return self.page_size * self.num_kv_heads * self.head_dim * numpy_dtype(self.pool_dtype).itemsize

    def mlx_variant(self) -> bool:
        """Whether MLX's SDPA takes every option on: windows (a boolean mask) and sinks (its
        `sinks`), ALiBi as an additive mask in float32 only (a mask takes the queries' dtype,
        and a bfloat16 bias of hundreds is off by whole units); no soft-cap."""
        return not self.logits_soft_cap and (not self.alibi or self.dtype == "float32")

    def flashinfer_variant(self) -> bool:
        """Whether FlashInfer's wrappers have every option on (windows and soft-caps, not ALiBi
        slopes of our choosing or sinks)."""
        return not (self.alibi or self.sinks)


def parse_variant(text: str) -> dict:
    """`--variant` as Shape fields: `plain`, or options joined by commas: `window=W`,
    `softcap=C`, `alibi`, `sinks` (e.g. `window=4095,softcap=30`)."""
    fields: dict = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if name == "plain" and not value:
            continue
        if name == "window" and value:
            fields["window_left"] = int(value)
        elif name == "softcap" and value:
            fields["logits_soft_cap"] = float(value)
        elif name in ("alibi", "sinks") and not value:
            fields[name] = True
        else:
            raise ValueError(f"--variant: unknown option {item!r} (plain, window=W, softcap=C, alibi, sinks)")
    return fields


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
        rng, [context] * batch, s.num_kv_heads, s.head_dim, s.page_size, s.pool_dtype, s.layout,
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
