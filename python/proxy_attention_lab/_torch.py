"""PAL's operations as torch custom ops (``torch.ops.pal.*``) with fake implementations, so they
trace under ``torch.compile`` (fullgraph) and replay inside CUDA graphs. Annotations are real
``typing`` objects (no ``from __future__ import annotations``): torch infers the op schemas
from them."""

from typing import Optional

import torch

from . import _native
from ._arrays import dense
from ._cuda import launch_settings


def _either(value: Optional[float], tensor: Optional[torch.Tensor]):
    """A scale split into (number, tensor) for the op schema, joined again for the native call."""
    return value if tensor is None else tensor


@torch.library.custom_op("pal::paged_attention_decode", mutates_args=())
def paged_attention_decode(
    queries: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    page_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: Optional[float],
    layout: str,
    window_left: int,
    logits_soft_cap: float,
    alibi_slopes: Optional[torch.Tensor],
    sinks: Optional[torch.Tensor],
    k_scale: Optional[float],
    k_scale_tensor: Optional[torch.Tensor],
    v_scale: Optional[float],
    v_scale_tensor: Optional[torch.Tensor],
    check: Optional[bool],
) -> torch.Tensor:
    queries = dense(queries)
    out = torch.empty_like(queries)
    _native.paged_attention_decode(
        queries, k_cache, v_cache, page_table, seq_lens, out, scale, layout, window_left, logits_soft_cap,
        alibi_slopes, sinks, _either(k_scale, k_scale_tensor), _either(v_scale, v_scale_tensor),
        *launch_settings(queries, check),
    )  # fmt: skip
    return out


# Fakes see the op's arguments positionally; only the first shapes the output.
@paged_attention_decode.register_fake
def _(queries, *_):
    return torch.empty_like(queries, memory_format=torch.contiguous_format)


@torch.library.custom_op("pal::paged_attention_prefill", mutates_args=())
def paged_attention_prefill(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    page_table: torch.Tensor,
    context_lens: torch.Tensor,
    cu_seqlens_q: Optional[torch.Tensor],
    scale: Optional[float],
    layout: str,
    window_left: int,
    logits_soft_cap: float,
    alibi_slopes: Optional[torch.Tensor],
    sinks: Optional[torch.Tensor],
    k_scale: Optional[float],
    k_scale_tensor: Optional[torch.Tensor],
    v_scale: Optional[float],
    v_scale_tensor: Optional[torch.Tensor],
    check: Optional[bool],
) -> torch.Tensor:
    q, k, v = dense(q), dense(k), dense(v)
    out = torch.empty_like(q)
    _native.paged_attention_prefill(
        q, k, v, k_cache, v_cache, page_table, context_lens, cu_seqlens_q, out, scale, layout,
        window_left, logits_soft_cap, alibi_slopes, sinks, _either(k_scale, k_scale_tensor),
        _either(v_scale, v_scale_tensor), *launch_settings(q, check),
    )  # fmt: skip
    return out


@paged_attention_prefill.register_fake
def _(q, *_):
    return torch.empty_like(q, memory_format=torch.contiguous_format)


@torch.library.custom_op("pal::fill_kv_pages", mutates_args=("k_cache", "v_cache"))
def fill_kv_pages(
    new_keys: torch.Tensor,
    new_values: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    page_table: Optional[torch.Tensor],
    positions: Optional[torch.Tensor],
    token_to_seq: Optional[torch.Tensor],
    slot_mapping: Optional[torch.Tensor],
    layout: str,
    k_scale: Optional[float],
    k_scale_tensor: Optional[torch.Tensor],
    v_scale: Optional[float],
    v_scale_tensor: Optional[torch.Tensor],
    check: Optional[bool],
) -> None:
    new_keys, new_values = dense(new_keys), dense(new_values)
    _native.fill_kv_pages(
        new_keys, new_values, k_cache, v_cache, page_table, positions, token_to_seq, slot_mapping, layout,
        _either(k_scale, k_scale_tensor), _either(v_scale, v_scale_tensor), *launch_settings(new_keys, check),
    )  # fmt: skip


@fill_kv_pages.register_fake
def _(*_):
    return None
