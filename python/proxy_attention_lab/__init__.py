"""Proxy Attention Lab (PAL): paged-attention operations over a paged KV cache.

Every operation accepts numpy arrays (bfloat16 through ``ml_dtypes``), torch tensors and any
object with ``__dlpack__``, without copying them. The backend follows the data: host arrays run
on PAL's CPU backend, CUDA tensors on its CUDA backend (on torch's current stream). Results come
back as the same kind of array as the queries. Under ``torch.compile`` calls whose arrays are
all torch tensors go through the ``torch.ops.pal`` custom ops, which it traces; eager calls go
straight to the native module.

Cache layouts (``layout=``): ``"pal"`` (K ``[pages, HKV, D/x, page_size, x]``, V
``[pages, HKV, D, page_size]``), ``"nhd"`` (``[pages, page_size, HKV, D]``) and ``"hnd"``
(``[pages, HKV, page_size, D]``).

Errors: bad input raises :class:`PalValueError` (a ``ValueError``) or, for a wrong dtype,
:class:`PalTypeError` (a ``TypeError``); a shape or dtype no kernel of the backend serves raises
:class:`UnsupportedError` (a ``ValueError`` and a ``NotImplementedError``). All derive from
:class:`PalError`. ``proxy_attention_lab.testing`` holds the float64 oracle and the helpers that
PAL's tests and benchmarks check it with.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

import numpy as np

from . import _native
from ._arrays import as_given, as_index, dense, dtype_name, kind_of, output_like, torch_module
from ._cuda import launch_settings
from .errors import (
    BackendUnavailableError,
    PalError,
    PalInternalError,
    PalTypeError,
    PalValueError,
    UnsupportedError,
)

__version__: str = _native.__version__

__all__ = [
    "paged_attention_decode",
    "paged_attention_prefill",
    "fill_kv_pages",
    "get_k_cache_shape",
    "get_v_cache_shape",
    "get_k_cache_stripe_size",
    "get_optimal_page_size",
    "PalError",
    "PalValueError",
    "PalTypeError",
    "UnsupportedError",
    "BackendUnavailableError",
    "PalInternalError",
]


def paged_attention_decode(
    queries: Any,
    k_cache: Any,
    v_cache: Any,
    page_table: Any,
    seq_lens: Any,
    *,
    scale: float | None = None,
    layout: str = "pal",
    window_left: int = -1,
    logits_soft_cap: float = 0.0,
    alibi_slopes: Any = None,
    sinks: Any = None,
    k_scale: Any = None,
    v_scale: Any = None,
    out: Any = None,
    check: bool | None = None,
) -> Any:
    """Attention of one new token per sequence over its paged history.

    Args:
        queries: ``[num_seqs, num_q_heads, head_dim]``, float32 / float16 / bfloat16.
        k_cache: key pool in ``layout``: the queries' dtype, or fp8 (``float8_e4m3fn`` /
            ``float8_e5m2``: torch's float8 dtypes or ``ml_dtypes``' for numpy).
        v_cache: value pool in ``layout``, ``k_cache``'s dtype.
        page_table: ``[num_seqs, pages_per_sequence]`` int32 or int64 (every index argument of
            every op takes either); entry ``[b, j]`` is the page that holds tokens
            ``j*page_size .. (j+1)*page_size`` of sequence ``b``.
        seq_lens: ``[num_seqs]`` tokens of each sequence in the cache (0 gives zeros).
        scale: softmax scale, ``1/sqrt(head_dim)`` by default.
        layout: ``"pal"``, ``"nhd"`` or ``"hnd"``.
        window_left: sliding window (SPEC §3.5): the query at position ``i`` sees key ``j`` only
            if ``i - j <= window_left`` (``window_left + 1`` tokens including itself); ``-1``:
            no window. Keys outside the window are not read.
        logits_soft_cap: ``c > 0`` turns each scaled score ``x`` into ``c * tanh(x / c)``
            before the softmax (Gemma 2, Grok); ``0``: off.
        alibi_slopes: optional ``[num_q_heads]`` float32: head ``h``'s logit for key ``j`` gains
            ``alibi_slopes[h] * (j - i)`` (BLOOM, MPT), after the soft-cap.
        sinks: optional ``[num_q_heads]`` float32 attention-sink logits (gpt-oss): one more
            logit per head in the softmax's denominator, contributing no value.
        k_scale: fp8 pools only: a key pool element means ``value * k_scale``. A number (per
            tensor), or a float32 array on the queries' device of shape ``[]`` / ``[1]`` (per
            tensor, read by the kernel: no host copy) or ``[num_kv_heads]`` (per KV head);
            default 1.
        v_scale: as ``k_scale``, for the value pool.
        out: optional ``[num_seqs, num_q_heads, head_dim]`` array written in place.
        check: how a CUDA call validates device-side lengths and page ids (host tables, as
            numpy arrays and CPU tensors, are always validated before anything runs).
            ``None`` (default): never synchronise; the kernels skip invalid entries and the
            next PAL call on that GPU raises ``PalValueError`` naming the first one (argument,
            entry, value) instead of running. ``True``: copy the tables to the host and
            validate them before launching (a copy and a wait; this call raises). ``False``:
            no validation, invalid entries are skipped silently. While a CUDA graph is
            captured, ``True`` acts as ``None``.

    Returns:
        ``[num_seqs, num_q_heads, head_dim]`` in the queries' dtype, of the queries' kind.
    """
    op = "paged_attention_decode"
    window_left, logits_soft_cap = _keywords(op, scale, layout, window_left, logits_soft_cap)
    k_scale, v_scale, check = _settings(op, k_scale, v_scale, check)
    # (what a strided `out` must not overlap: listed only where there is an `out`)
    reads = None if out is None else {
        "queries": queries, "k_cache": k_cache, "v_cache": v_cache, "page_table": page_table,
        "seq_lens": seq_lens, "alibi_slopes": alibi_slopes, "sinks": sinks, "k_scale": k_scale,
        "v_scale": v_scale,
    }  # fmt: skip
    clamped: dict[str, Any] = {}
    page_table = as_index(page_table, "page_table", clamped)
    seq_lens = as_index(seq_lens, "seq_lens", clamped)
    given, queries = queries, dense(queries)
    if out is None and _traced(queries, k_cache, v_cache, page_table, seq_lens, alibi_slopes, sinks):
        return _torch_ops().paged_attention_decode(
            queries, k_cache, v_cache, page_table, seq_lens, scale, layout, window_left, logits_soft_cap,
            alibi_slopes, sinks, *_scale_pair(k_scale), *_scale_pair(v_scale), check,
        )  # fmt: skip
    target, finish = output_like(kind_of(given, queries), out, op, "queries", reads)
    try:
        _native.paged_attention_decode(
            queries, k_cache, v_cache, page_table, seq_lens, target, scale, layout, window_left,
            logits_soft_cap, alibi_slopes, sinks, k_scale, v_scale, *launch_settings(queries, check),
        )  # fmt: skip
    except PalValueError as error:
        raise as_given(error, clamped) from None
    return target if finish is None else finish(target)


def paged_attention_prefill(
    q: Any,
    k: Any,
    v: Any,
    k_cache: Any,
    v_cache: Any,
    page_table: Any,
    context_lens: Any,
    cu_seqlens_q: Any = None,
    *,
    scale: float | None = None,
    layout: str = "pal",
    window_left: int = -1,
    logits_soft_cap: float = 0.0,
    alibi_slopes: Any = None,
    sinks: Any = None,
    k_scale: Any = None,
    v_scale: Any = None,
    out: Any = None,
    check: bool | None = None,
) -> Any:
    """Causal attention of new prompt tokens over their sequence's cached history and prompt.

    Prompt token ``i`` of sequence ``b`` sits at position ``context_lens[b] + i``: it sees the
    first ``context_lens[b]`` cached tokens of ``b`` and prompt tokens ``0..=i`` of ``b``.

    Args:
        q: ``[total_tokens, num_q_heads, head_dim]``: all prompts, concatenated.
        k: ``[total_tokens, num_kv_heads, head_dim]``: the prompts' keys.
        v: ``[total_tokens, num_kv_heads, head_dim]``: the prompts' values.
        k_cache: key pool in ``layout`` holding the history: ``q``'s dtype, or fp8.
        v_cache: value pool in ``layout``, ``k_cache``'s dtype.
        page_table: ``[num_seqs, pages_per_sequence]`` int32.
        context_lens: ``[num_seqs]`` int32 history tokens per sequence.
        cu_seqlens_q: ``[num_seqs + 1]`` int32 prompt offsets into ``q``; ``None`` means every
            prompt has ``total_tokens / num_seqs`` tokens.
        scale: softmax scale, ``1/sqrt(head_dim)`` by default.
        layout: ``"pal"``, ``"nhd"`` or ``"hnd"``.
        window_left: as for :func:`paged_attention_decode`, for each prompt token's position.
        logits_soft_cap: as for :func:`paged_attention_decode`.
        alibi_slopes: as for :func:`paged_attention_decode`.
        sinks: as for :func:`paged_attention_decode`.
        k_scale: as for :func:`paged_attention_decode`: scales the history read from an fp8
            pool; the prompt's ``k`` and ``v`` (``q``'s dtype) are used as given.
        v_scale: as ``k_scale``, for the value pool.
        out: optional ``[total_tokens, num_q_heads, head_dim]`` array written in place.
        check: as for :func:`paged_attention_decode`.

    Returns:
        ``[total_tokens, num_q_heads, head_dim]`` in ``q``'s dtype, of ``q``'s kind.
    """
    op = "paged_attention_prefill"
    window_left, logits_soft_cap = _keywords(op, scale, layout, window_left, logits_soft_cap)
    k_scale, v_scale, check = _settings(op, k_scale, v_scale, check)
    reads = None if out is None else {
        "q": q, "k": k, "v": v, "k_cache": k_cache, "v_cache": v_cache, "page_table": page_table,
        "context_lens": context_lens, "cu_seqlens_q": cu_seqlens_q, "alibi_slopes": alibi_slopes,
        "sinks": sinks, "k_scale": k_scale, "v_scale": v_scale,
    }  # fmt: skip
    clamped: dict[str, Any] = {}
    page_table, context_lens, cu_seqlens_q = (
        as_index(page_table, "page_table", clamped),
        as_index(context_lens, "context_lens", clamped),
        as_index(cu_seqlens_q, "cu_seqlens_q", clamped),
    )
    given, q, k, v = q, dense(q), dense(k), dense(v)
    if out is None and _traced(
        q, k, v, k_cache, v_cache, page_table, context_lens, cu_seqlens_q, alibi_slopes, sinks
    ):
        return _torch_ops().paged_attention_prefill(
            q, k, v, k_cache, v_cache, page_table, context_lens, cu_seqlens_q, scale, layout,
            window_left, logits_soft_cap, alibi_slopes, sinks, *_scale_pair(k_scale), *_scale_pair(v_scale),
            check,
        )  # fmt: skip
    target, finish = output_like(kind_of(given, q), out, op, "q", reads)
    try:
        _native.paged_attention_prefill(
            q, k, v, k_cache, v_cache, page_table, context_lens, cu_seqlens_q, target, scale, layout,
            window_left, logits_soft_cap, alibi_slopes, sinks, k_scale, v_scale, *launch_settings(q, check),
        )  # fmt: skip
    except PalValueError as error:
        raise as_given(error, clamped) from None
    return target if finish is None else finish(target)


def fill_kv_pages(
    new_keys: Any,
    new_values: Any,
    k_cache: Any,
    v_cache: Any,
    page_table: Any = None,
    positions: Any = None,
    token_to_seq: Any = None,
    *,
    slot_mapping: Any = None,
    layout: str = "pal",
    k_scale: Any = None,
    v_scale: Any = None,
    check: bool | None = None,
) -> None:
    """Writes new tokens' keys and values into the pools, in place.

    Either ``page_table`` + ``positions`` + ``token_to_seq`` (token ``t`` goes to position
    ``positions[t]`` of sequence ``token_to_seq[t]``), or a vLLM-style ``slot_mapping``
    (``page * page_size + slot`` per token, negative to skip). All checks run before any write.

    Args:
        new_keys: ``[num_tokens, num_kv_heads, head_dim]``: the pools' dtype, or float32 /
            float16 / bfloat16 for fp8 pools, which store
            ``saturate(round_to_nearest_even(x / scale))`` (finite: no inf or NaN from finite
            input) with ``x / scale`` the IEEE float32 quotient, bit for bit the same on every
            backend.
        new_values: ``[num_tokens, num_kv_heads, head_dim]``, ``new_keys``' dtype.
        k_cache: key pool in ``layout``, written in place.
        v_cache: value pool in ``layout``, written in place.
        page_table: ``[num_seqs, pages_per_sequence]`` int32.
        positions: ``[num_tokens]`` int32 logical positions.
        token_to_seq: ``[num_tokens]`` int32 sequence of each token.
        slot_mapping: ``[num_tokens]`` int32 flat slots, instead of the three above.
        layout: ``"pal"``, ``"nhd"`` or ``"hnd"``.
        k_scale: fp8 pools only: the key pool's scale, as for :func:`paged_attention_decode`.
        v_scale: as ``k_scale``, for the value pool.
        check: as for :func:`paged_attention_decode` (positions, sequences, slots and page ids);
            invalid destinations are never written.
    """
    _check_layout("fill_kv_pages", layout)
    k_scale, v_scale, check = _settings("fill_kv_pages", k_scale, v_scale, check)
    clamped: dict[str, Any] = {}
    page_table = as_index(page_table, "page_table", clamped)
    positions = as_index(positions, "positions", clamped)
    token_to_seq = as_index(token_to_seq, "token_to_seq", clamped)
    slot_mapping = as_index(slot_mapping, "slot_mapping", clamped)
    new_keys, new_values = dense(new_keys), dense(new_values)
    if _traced(new_keys, new_values, k_cache, v_cache, page_table, positions, token_to_seq, slot_mapping):
        return _torch_ops().fill_kv_pages(
            new_keys,
            new_values,
            k_cache,
            v_cache,
            page_table,
            positions,
            token_to_seq,
            slot_mapping,
            layout,
            *_scale_pair(k_scale),
            *_scale_pair(v_scale),
            check,
        )
    try:
        _native.fill_kv_pages(
            new_keys, new_values, k_cache, v_cache, page_table, positions, token_to_seq, slot_mapping, layout,
            k_scale, v_scale, *launch_settings(new_keys, check),
        )  # fmt: skip
    except PalValueError as error:
        raise as_given(error, clamped) from None


def get_k_cache_shape(
    num_pages: int, num_kv_heads: int, head_dim: int, page_size: int, dtype: Any, layout: str = "pal"
) -> tuple[int, ...]:
    """Shape of the key pool; ``dtype`` may be a numpy or torch dtype or a name."""
    _check_layout("get_k_cache_shape", layout)
    _check_sizes("get_k_cache_shape", num_pages, num_kv_heads, head_dim, page_size)
    return _native.k_cache_shape(num_pages, num_kv_heads, head_dim, page_size, dtype_name(dtype), layout)


def get_v_cache_shape(
    num_pages: int, num_kv_heads: int, head_dim: int, page_size: int, dtype: Any, layout: str = "pal"
) -> tuple[int, ...]:
    """Shape of the value pool; ``dtype`` may be a numpy or torch dtype or a name."""
    _check_layout("get_v_cache_shape", layout)
    _check_sizes("get_v_cache_shape", num_pages, num_kv_heads, head_dim, page_size)
    return _native.v_cache_shape(num_pages, num_kv_heads, head_dim, page_size, dtype_name(dtype), layout)


def get_k_cache_stripe_size(dtype: Any) -> int:
    """Elements per 16-byte stripe of the ``pal`` key layout: 4 for float32, 8 for 16-bit types,
    16 for fp8."""
    return _native.k_cache_stripe_size(dtype_name(dtype))


def get_optimal_page_size() -> int:
    """The page size PAL recommends (tokens per page)."""
    return _native.optimal_page_size()


def _keywords(op: str, scale: Any, layout: Any, window_left: Any, logits_soft_cap: Any) -> tuple[int, Any]:
    """The attention keywords, checked for their kind with errors that name them (SPEC §6) where
    the native conversion would raise a bare TypeError: ``window_left`` an integer (one past any
    int64 is a window past any context), ``scale`` a number or None, ``logits_soft_cap`` a
    number or None (off). Returns ``window_left`` and ``logits_soft_cap`` as the native call
    takes them."""
    _check_layout(op, layout)
    if type(window_left) is not int:
        expected = "must be an integer (-1: no window)"
        if isinstance(window_left, (bool, np.bool_, float, str, bytes)) or not hasattr(
            type(window_left), "__index__"
        ):
            raise PalTypeError(f"{op}: `window_left` {expected}, got {_kind(window_left)}")
        try:  # (an integer array of one element or more has __index__ and refuses it)
            window_left = operator.index(window_left)
        except TypeError:
            raise PalTypeError(f"{op}: `window_left` {expected}, got {_kind(window_left)}") from None
    if window_left > _INT64_MAX:
        window_left = _INT64_MAX
    elif window_left < -1:
        expected = "must be -1 (no window) or a number of keys >= 0"
        raise PalValueError(f"{op}: `window_left` {expected}, got {window_left}")
    if scale is not None:
        _check_number(op, "scale", scale)
    if logits_soft_cap is None:
        logits_soft_cap = 0.0
    else:
        _check_number(op, "logits_soft_cap", logits_soft_cap)
    return window_left, logits_soft_cap


def _check_number(op: str, name: str, value: Any) -> None:
    # (Python's own numbers first: the common case, and plain for torch.compile to trace.)
    if type(value) is float:
        return
    if type(value) is not int and (
        isinstance(value, (bool, np.bool_, str, bytes))
        or not hasattr(type(value), "__float__")
        or getattr(value, "ndim", 0) != 0  # an array of one element or more (a 0-d one is a number)
    ):
        raise PalTypeError(f"{op}: `{name}` must be a number, got {_kind(value)}")
    # Only exact numbers can lie beyond any float (converting a tensor would synchronise).
    if type(value) is int or (not hasattr(value, "shape") and isinstance(value, numbers.Rational)):
        _as_float(op, name, value)


def _as_float(op: str, name: str, value: Any) -> float:
    """``value`` as a float; an integer beyond any float is refused naming the argument (the
    native conversion would raise a bare OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        raise PalValueError(f"{op}: `{name}` must be a finite number, got {value!r}") from None


def _scale_number(op: str, name: str, scale: Any) -> Any:
    # Arrays (anything with a shape but numpy's scalars) are left to the native reader; torch
    # tensors never reach the isinstance test, which torch.compile traces.
    if scale is None or type(scale) is float:
        return scale
    if isinstance(scale, (bool, np.bool_)):
        raise PalTypeError(f"{op}: `{name}` must be a number or a float32 array, got {_kind(scale)}")
    if hasattr(scale, "shape") and not isinstance(scale, np.generic):
        return scale
    return _as_float(op, name, scale) if isinstance(scale, numbers.Real) else scale


def _settings(op: str, k_scale: Any, v_scale: Any, check: Any) -> tuple[Any, Any, bool | None]:
    """``k_scale`` / ``v_scale`` and ``check``, checked for their kind with errors that name them
    (SPEC §6): a scale that is a number (numpy's scalars included, which would otherwise be
    read as 0-d arrays of their own dtype) becomes a float, arrays pass as they are; ``check``
    is True, False or None."""
    k_scale, v_scale = _scale_number(op, "k_scale", k_scale), _scale_number(op, "v_scale", v_scale)
    if check is not None and check is not True and check is not False:
        if not isinstance(check, (bool, np.bool_)):
            raise PalTypeError(f"{op}: `check` must be True, False or None, got {_kind(check)}")
        check = bool(check)
    return k_scale, v_scale, check


_INT64_MAX = 2**63 - 1


def _check_layout(op: str, layout: Any) -> None:
    if not isinstance(layout, str):
        expected = 'must be a string: "pal", "nhd" or "hnd"'
        raise PalTypeError(f"{op}: `layout` {expected}, got {_kind(layout)}")


def _check_sizes(op: str, *sizes: Any) -> None:
    """The shape helpers' sizes: a bool is refused (Python counts it an integer)."""
    for name, value in zip(("num_pages", "num_kv_heads", "head_dim", "page_size"), sizes):
        if isinstance(value, (bool, np.bool_)):
            raise PalTypeError(f"{op}: `{name}` must be an integer, got {_kind(value)}")


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _all_torch(*arrays: Any) -> bool:
    """Whether every given array (``None`` aside) is a torch tensor, and there is one.

    A plain loop: torch.compile traces this helper, and it cannot trace ``bool()`` of a list."""
    found = False
    for array in arrays:
        if array is None:
            continue
        if not type(array).__module__.startswith("torch"):
            return False
        found = True
    return found


def _scale_pair(scale: Any) -> tuple[float | None, Any]:
    """``k_scale`` / ``v_scale`` as the custom ops take them: (number, tensor), one of them None."""
    if scale is None or isinstance(scale, (int, float)):
        return scale, None
    return None, scale


def _torch_ops():
    """The torch custom ops, registered on first use (importing torch is slow)."""
    from . import _torch

    return _torch


def _traced(*arrays: Any) -> bool:
    """Whether torch.compile is tracing this call and every array is a torch tensor: then the ops
    go through ``torch.ops.pal`` (which it can trace); eager calls skip the custom-op dispatcher
    and call the native module."""
    torch = torch_module()
    return torch is not None and torch.compiler.is_compiling() and _all_torch(*arrays)
