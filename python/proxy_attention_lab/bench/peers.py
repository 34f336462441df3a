"""Peers PAL is measured against, each used when importable. A peer gets the same tokens,
converted to its own layout once, outside the timing. A missing peer is reported with the
reason, never dropped silently."""

from __future__ import annotations

import importlib.util
from typing import Any, Callable

import numpy as np

from ..testing import from_torch, to_torch
from .problems import PagedProblem, Shape

Runner = Callable[[], Any]


def available(device: str) -> dict[str, str | None]:
    """Peer name -> None when usable on ``device``, else why not."""

    def missing(module: str) -> str | None:
        return None if importlib.util.find_spec(module) else f"{module} is not installed"

    flashinfer = missing("flashinfer") if device == "cuda" else "FlashInfer runs on CUDA only"
    return {
        "mlx_sdpa": missing("mlx") if device == "cpu" else "MLX runs on the CPU (or Metal) only",
        "torch_sdpa": missing("torch"),
        # FlashInfer's paged decode has two paths (CUDA cores, tensor cores); both are measured.
        "flashinfer": flashinfer,
        "flashinfer_tc": flashinfer,
        "flex_paged": missing("torch") if device == "cuda" else "flex_attention's paged decode needs CUDA",
    }


def _mlx_dtype(name: str):
    import mlx.core as mx

    return {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}[name]


def _to_mlx(array: np.ndarray, dtype: str):
    import mlx.core as mx

    out = mx.array(np.ascontiguousarray(array, np.float32)).astype(_mlx_dtype(dtype))
    mx.eval(out)
    return out


def _mlx_variant(shape: Shape, query_positions: np.ndarray, keys: int, causal: bool) -> dict:
    """SDPA's ``mask`` and ``sinks`` for the sweep's variant (`Shape.mlx_variant`): query ``t`` at
    position ``query_positions[t]`` over keys ``0..keys``, causal where asked (decode: every key
    precedes the query); None where plain attention needs neither."""
    import mlx.core as mx

    options = shape.variant()
    i, j = query_positions[:, None], np.arange(keys)[None, :]
    visible = j <= i if causal else np.ones((len(query_positions), keys), bool)
    if "window_left" in options:
        visible &= i - j <= options["window_left"]
    found: dict = {}
    if "alibi_slopes" in options:  # float32 only: an additive mask, -inf where hidden
        bias = options["alibi_slopes"][:, None, None] * (j - i)[None].astype(np.float32)
        found["mask"] = mx.array(np.where(visible[None], bias, -np.inf).astype(np.float32)[None])
    elif causal or "window_left" in options:
        found["mask"] = mx.array(visible)
    if "sinks" in options:
        found["sinks"] = mx.array(options["sinks"]).astype(_mlx_dtype(shape.dtype))
    return found


def mlx_decode(problem: PagedProblem, queries: np.ndarray) -> tuple[Runner, Callable[[Any], np.ndarray]]:
    """MLX's CPU SDPA over contiguous ``[B, HKV, L, D]`` keys and values (GQA native), with the
    sweep's variant where MLX has it."""
    import mlx.core as mx

    dtype = problem.shape.dtype
    q = _to_mlx(queries[:, :, None, :], dtype)
    k = _to_mlx(problem.keys.transpose(0, 2, 1, 3), dtype)
    v = _to_mlx(problem.values.transpose(0, 2, 1, 3), dtype)
    scale = float(1.0 / np.sqrt(queries.shape[-1]))
    length = problem.keys.shape[1]
    variant = _mlx_variant(problem.shape, np.array([length - 1]), length, causal=False)

    def run():
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, **variant)
        mx.eval(out)
        return out

    return run, lambda out: np.array(out.astype(mx.float32))[:, :, 0, :]


def mlx_prefill(q: np.ndarray, keys: np.ndarray, values: np.ndarray, history: int, shape: Shape):
    """Causal SDPA of ``q`` ``[B, T, HQ, D]`` over ``keys`` ``[B, history + T, HKV, D]``, with
    the sweep's variant where MLX has it."""
    import mlx.core as mx

    dtype = shape.dtype
    mq = _to_mlx(q.transpose(0, 2, 1, 3), dtype)
    mk = _to_mlx(keys.transpose(0, 2, 1, 3), dtype)
    mv = _to_mlx(values.transpose(0, 2, 1, 3), dtype)
    prompt = q.shape[1]
    variant = _mlx_variant(shape, history + np.arange(prompt), history + prompt, causal=True)
    scale = float(1.0 / np.sqrt(q.shape[-1]))

    def run():
        out = mx.fast.scaled_dot_product_attention(mq, mk, mv, scale=scale, **variant)
        mx.eval(out)
        return out

    return run, lambda out: np.array(out.astype(mx.float32)).transpose(0, 2, 1, 3)


def torch_decode(problem: PagedProblem, queries: np.ndarray, device: str):
    """torch SDPA over contiguous keys and values: the non-paged upper bound."""
    import torch.nn.functional as F

    q = to_torch(queries[:, :, None, :], device)
    k = to_torch(problem.keys.transpose(0, 2, 1, 3), device)
    v = to_torch(problem.values.transpose(0, 2, 1, 3), device)

    def run():
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    return run, lambda out: from_torch(out)[:, :, 0, :]


def torch_prefill(q: np.ndarray, keys: np.ndarray, values: np.ndarray, history: int, device: str):
    import torch
    import torch.nn.functional as F

    tq = to_torch(q.transpose(0, 2, 1, 3), device)
    tk = to_torch(keys.transpose(0, 2, 1, 3), device)
    tv = to_torch(values.transpose(0, 2, 1, 3), device)
    prompt = q.shape[1]
    if history == 0:
        mask, causal = None, True
    else:
        visible = np.arange(history + prompt)[None, :] <= history + np.arange(prompt)[:, None]
        mask, causal = torch.from_numpy(visible).to(tq.device), False

    def run():
        return F.scaled_dot_product_attention(tq, tk, tv, attn_mask=mask, is_causal=causal, enable_gqa=True)

    return run, lambda out: from_torch(out).transpose(0, 2, 1, 3)


def _nhd_pool(dense: np.ndarray, page_size: int, page_order: np.ndarray):
    """``[B, L, HKV, D]`` tokens as an NHD pool (FlashInfer's layout) ``[pages, page_size, HKV, D]`` on the
    GPU, sequence b's page j stored at physical page ``page_order[b, j]``."""
    batch, length, heads, dim = dense.shape
    pages_per_seq = page_order.shape[1]
    padded = np.zeros((batch, pages_per_seq * page_size, heads, dim), dense.dtype)
    padded[:, :length] = dense
    pool = np.empty((batch * pages_per_seq, page_size, heads, dim), dense.dtype)
    pool[page_order.reshape(-1)] = padded.reshape(batch * pages_per_seq, page_size, heads, dim)
    return to_torch(pool, "cuda")


def _flashinfer_tables(batch: int, length: int, page_size: int, page_order: np.ndarray):
    import torch

    pages_per_seq = page_order.shape[1]
    indptr = torch.arange(batch + 1, dtype=torch.int32, device="cuda") * pages_per_seq
    indices = torch.from_numpy(np.ascontiguousarray(page_order.reshape(-1), np.int32)).cuda()
    last = torch.full((batch,), length - (pages_per_seq - 1) * page_size, dtype=torch.int32, device="cuda")
    return indptr, indices, last


def flashinfer_decode(problem: PagedProblem, queries: np.ndarray, tensor_cores: bool):
    """FlashInfer's BatchDecodeWithPagedKVCacheWrapper over the same pages, in its NHD layout."""
    import flashinfer
    import torch

    s = problem.shape
    batch, context = problem.keys.shape[:2]
    k_pool = _nhd_pool(problem.keys, s.page_size, problem.page_table)
    v_pool = _nhd_pool(problem.values, s.page_size, problem.page_table)
    indptr, indices, last = _flashinfer_tables(batch, context, s.page_size, problem.page_table)
    workspace = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
    wrapper = flashinfer.BatchDecodeWithPagedKVCacheWrapper(workspace, "NHD", use_tensor_cores=tensor_cores)
    wrapper.plan(
        indptr, indices, last, s.num_q_heads, s.num_kv_heads, s.head_dim, s.page_size,
        q_data_type=getattr(torch, s.dtype), kv_data_type=getattr(torch, s.pool_dtype),
        window_left=s.window_left, logits_soft_cap=s.logits_soft_cap or None,
    )  # fmt: skip
    q = to_torch(queries, "cuda")

    def run():
        return wrapper.run(q, (k_pool, v_pool))

    return run, from_torch


def flashinfer_prefill(q: np.ndarray, keys: np.ndarray, values: np.ndarray, history: int, shape: Shape):
    """FlashInfer's BatchPrefillWithPagedKVCacheWrapper (causal) with history and prompt paged
    (in the pools' dtype: fp8 pools hold the prompt quantised too)."""
    import flashinfer
    import torch

    dtype, page_size = shape.dtype, shape.page_size
    batch, prompt, num_q_heads, head_dim = q.shape
    length = history + prompt
    pages_per_seq = -(-length // page_size)
    order = np.arange(batch * pages_per_seq, dtype=np.int32).reshape(batch, pages_per_seq)
    k_pool = _nhd_pool(keys, page_size, order)
    v_pool = _nhd_pool(values, page_size, order)
    indptr, indices, last = _flashinfer_tables(batch, length, page_size, order)
    qo_indptr = torch.arange(batch + 1, dtype=torch.int32, device="cuda") * prompt
    workspace = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
    # FlashInfer 0.5.3's Hopper (FA3) path has no 16-bit queries over fp8 pools (its kernel does
    # not compile for them: no eligible GMMA, H200, 2026-11-30); its FA2 path has.
    backend = "auto" if shape.pool_dtype == dtype else "fa2"
    wrapper = flashinfer.BatchPrefillWithPagedKVCacheWrapper(workspace, "NHD", backend=backend)
    torch_dtype = getattr(torch, dtype)
    wrapper.plan(
        qo_indptr, indptr, indices, last, num_q_heads, keys.shape[2], head_dim, page_size,
        causal=True, q_data_type=torch_dtype, kv_data_type=getattr(torch, shape.pool_dtype),
        window_left=shape.window_left, logits_soft_cap=shape.logits_soft_cap or None,
    )  # fmt: skip
    tq = to_torch(q.reshape(batch * prompt, num_q_heads, head_dim), "cuda")

    def run():
        return wrapper.run(tq, (k_pool, v_pool))

    return run, from_torch


def flashinfer_append(problem: PagedProblem, keys: np.ndarray, values: np.ndarray, per_seq: int):
    """FlashInfer's ``append_paged_kv_cache``: token i of ``keys`` / ``values`` (``[T, HKV, D]``,
    ``per_seq`` per sequence, in order) into its sequence's pages of an NHD pool in the page
    table's order (the pages PAL fills)."""
    import flashinfer
    import torch

    s = problem.shape
    sequences = len(keys) // per_seq
    k_pool = _nhd_pool(np.zeros_like(problem.keys), s.page_size, problem.page_table)
    v_pool = _nhd_pool(np.zeros_like(problem.values), s.page_size, problem.page_table)
    indptr, indices, last = _flashinfer_tables(sequences, per_seq, s.page_size, problem.page_table)
    batch_indices = torch.arange(len(keys), dtype=torch.int32, device="cuda") // per_seq
    positions = torch.arange(len(keys), dtype=torch.int32, device="cuda") % per_seq
    k, v = to_torch(keys, "cuda"), to_torch(values, "cuda")

    def run():
        flashinfer.append_paged_kv_cache(
            k, v, batch_indices, positions, (k_pool, v_pool), indices, indptr, last, kv_layout="NHD"
        )
        return k_pool, v_pool

    return run, from_torch


def flex_paged_decode(problem: PagedProblem, queries: np.ndarray):
    """torch's flex_attention over a physical page pool through its experimental PagedAttention
    (the page table mapped into the block mask and the score mod), compiled as torch recommends."""
    import torch
    from torch.nn.attention.experimental._paged_attention import PagedAttention
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    s = problem.shape
    batch, context = problem.keys.shape[:2]
    table = torch.from_numpy(problem.page_table.astype(np.int64)).cuda()
    pages_per_seq = table.shape[1]
    num_pages = batch * pages_per_seq
    paged = PagedAttention(num_pages, s.page_size, batch, device="cuda")
    paged.page_table[:, :pages_per_seq] = table
    logical = torch.arange(pages_per_seq, device="cuda").expand(batch, -1)
    paged.physical_to_logical.scatter_(1, table, logical)
    paged.capacity[:] = pages_per_seq * s.page_size

    def physical(dense: np.ndarray):
        # [pages, page_size, HKV, D] -> flex's [1, HKV, pages * page_size, D]
        pool = _nhd_pool(dense, s.page_size, problem.page_table)
        flat = pool.permute(2, 0, 1, 3).reshape(1, s.num_kv_heads, num_pages * s.page_size, s.head_dim)
        return flat.contiguous()

    k_pool, v_pool = physical(problem.keys), physical(problem.values)
    lengths = torch.full((batch,), context, device="cuda")

    def within_length(b, h, q_idx, kv_idx):
        return kv_idx < lengths[b]

    logical_length = pages_per_seq * s.page_size
    logical_mask = create_block_mask(
        within_length, batch, None, 1, logical_length, device="cuda", BLOCK_SIZE=(128, s.page_size)
    )
    block_mask = paged.convert_logical_block_mask(logical_mask)
    score_mod = paged.get_score_mod(None)
    # Static shapes, compiled afresh each case: a second case recompiled with symbolic shapes,
    # where flex's lowering refused page-sized KV blocks (H100, 2026-12-05), and dynamo's
    # recompile limit would run later cases eagerly.
    torch._dynamo.reset()
    compiled = torch.compile(flex_attention, dynamic=False)
    q = to_torch(queries[:, :, None, :], "cuda")

    def run():
        return compiled(q, k_pool, v_pool, block_mask=block_mask, score_mod=score_mod, enable_gqa=True)

    return run, lambda out: from_torch(out)[:, :, 0, :]
