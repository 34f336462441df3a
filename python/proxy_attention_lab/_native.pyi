"""Type stubs of the native module; the public API is in ``proxy_attention_lab``. Its functions
raise the classes of ``proxy_attention_lab.errors`` (``crates/pal-python/src/errors.rs`` maps
each Rust error to one)."""

from typing import Any

__version__: str

def paged_attention_decode(
    queries: Any,
    k_cache: Any,
    v_cache: Any,
    page_table: Any,
    seq_lens: Any,
    out: Any,
    scale: float | None = None,
    layout: str = "pal",
    window_left: int = -1,
    logits_soft_cap: float = 0.0,
    alibi_slopes: Any | None = None,
    sinks: Any | None = None,
    k_scale: Any | None = None,
    v_scale: Any | None = None,
    cuda_stream: int = 0,
    check: bool | None = None,
) -> None: ...
def paged_attention_prefill(
    q: Any,
    k: Any,
    v: Any,
    k_cache: Any,
    v_cache: Any,
    page_table: Any,
    context_lens: Any,
    cu_seqlens_q: Any | None,
    out: Any,
    scale: float | None = None,
    layout: str = "pal",
    window_left: int = -1,
    logits_soft_cap: float = 0.0,
    alibi_slopes: Any | None = None,
    sinks: Any | None = None,
    k_scale: Any | None = None,
    v_scale: Any | None = None,
    cuda_stream: int = 0,
    check: bool | None = None,
) -> None: ...
def fill_kv_pages(
    new_keys: Any,
    new_values: Any,
    k_cache: Any,
    v_cache: Any,
    page_table: Any | None = None,
    positions: Any | None = None,
    token_to_seq: Any | None = None,
    slot_mapping: Any | None = None,
    layout: str = "pal",
    k_scale: Any | None = None,
    v_scale: Any | None = None,
    cuda_stream: int = 0,
    check: bool | None = None,
) -> None: ...
def k_cache_shape(
    num_pages: int, num_kv_heads: int, head_dim: int, page_size: int, dtype: str, layout: str = "pal"
) -> tuple[int, ...]: ...
def v_cache_shape(
    num_pages: int, num_kv_heads: int, head_dim: int, page_size: int, dtype: str, layout: str = "pal"
) -> tuple[int, ...]: ...
def k_cache_stripe_size(dtype: str) -> int: ...
def optimal_page_size() -> int: ...
def array_info(op: str, name: str, array: Any) -> tuple[tuple[int, ...], str, int | None]: ...
def dense_host_copy(op: str, name: str, array: Any) -> tuple[tuple[int, ...], str, bytes] | None: ...
def paged_read_ceiling(block_bytes: int, buffer_bytes: int) -> float: ...
def host_profile(enable: bool | None = None) -> tuple[int, list[tuple[str, int]]]: ...
