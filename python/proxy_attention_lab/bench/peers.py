"""Peers PAL is measured against, each used when importable. A peer gets the same tokens,
converted to its own layout once, outside the timing. A missing peer is reported with the
reason, never dropped silently."""

from __future__ import annotations

import importlib.util
from typing import Any, Callable

import numpy as np

from .problems import PagedProblem

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
    }


def _mlx_dtype(name: str):
    import mlx.core as mx

    return {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}[name]


def _to_mlx(array: np.ndarray, dtype: str):
    import mlx.core as mx

    out = mx.array(np.ascontiguousarray(array, np.float32)).astype(_mlx_dtype(dtype))
    mx.eval(out)
    return out


def mlx_decode(problem: PagedProblem, queries: np.ndarray) -> tuple[Runner, Callable[[Any], np.ndarray]]:
    """MLX's CPU SDPA over contiguous ``[B, HKV, L, D]`` keys and values (GQA native)."""
    import mlx.core as mx

    dtype = problem.shape.dtype
    q = _to_mlx(queries[:, :, None, :], dtype)
    k = _to_mlx(problem.keys.transpose(0, 2, 1, 3), dtype)
    v = _to_mlx(problem.values.transpose(0, 2, 1, 3), dtype)
    scale = float(1.0 / np.sqrt(queries.shape[-1]))

    def run():
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=scale)
        mx.eval(out)
        return out

    return run, lambda out: np.array(out.astype(mx.float32))[:, :, 0, :]


def mlx_prefill(q: np.ndarray, keys: np.ndarray, values: np.ndarray, history: int, dtype: str):
    """Causal SDPA of ``q`` ``[B, T, HQ, D]`` over ``keys`` ``[B, history + T, HKV, D]``."""
    import mlx.core as mx

    mq = _to_mlx(q.transpose(0, 2, 1, 3), dtype)
    mk = _to_mlx(keys.transpose(0, 2, 1, 3), dtype)
    mv = _to_mlx(values.transpose(0, 2, 1, 3), dtype)
    prompt = q.shape[1]
    mask = mx.array(np.arange(history + prompt)[None, :] <= history + np.arange(prompt)[:, None])
    scale = float(1.0 / np.sqrt(q.shape[-1]))

    def run():
        out = mx.fast.scaled_dot_product_attention(mq, mk, mv, scale=scale, mask=mask)
        mx.eval(out)
        return out

    return run, lambda out: np.array(out.astype(mx.float32)).transpose(0, 2, 1, 3)


def torch_decode(problem: PagedProblem, queries: np.ndarray, device: str):
    """torch SDPA over contiguous keys and values: the non-paged upper bound."""
    import torch.nn.functional as F

    from .devices_torch import to_torch

    q = to_torch(queries[:, :, None, :], device)
    k = to_torch(problem.keys.transpose(0, 2, 1, 3), device)
    v = to_torch(problem.values.transpose(0, 2, 1, 3), device)

    def run():
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    return run, lambda out: out.float().cpu().numpy()[:, :, 0, :]


def torch_prefill(q: np.ndarray, keys: np.ndarray, values: np.ndarray, history: int, device: str):
    import torch
    import torch.nn.functional as F

    from .devices_torch import to_torch

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

    return run, lambda out: out.float().cpu().numpy().transpose(0, 2, 1, 3)


def _flashinfer_pool(dense: np.ndarray, page_size: int, page_order: np.ndarray):
    """``[B, L, HKV, D]`` tokens as a FlashInfer NHD pool ``[pages, page_size, HKV, D]`` on the
    GPU, sequence b's page j stored at physical page ``page_order[b, j]``."""
    from .devices_torch import to_torch

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

    from .devices_torch import to_torch

    s = problem.shape
    batch, context = problem.keys.shape[:2]
    k_pool = _flashinfer_pool(problem.keys, s.page_size, problem.page_table)
    v_pool = _flashinfer_pool(problem.values, s.page_size, problem.page_table)
    indptr, indices, last = _flashinfer_tables(batch, context, s.page_size, problem.page_table)
    workspace = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
    wrapper = flashinfer.BatchDecodeWithPagedKVCacheWrapper(workspace, "NHD", use_tensor_cores=tensor_cores)
    dtype = getattr(torch, s.dtype)
    wrapper.plan(
        indptr, indices, last, s.num_q_heads, s.num_kv_heads, s.head_dim, s.page_size,
        q_data_type=dtype, kv_data_type=dtype,
    )  # fmt: skip
    q = to_torch(queries, "cuda")

    def run():
        return wrapper.run(q, (k_pool, v_pool))

    return run, lambda out: out.float().cpu().numpy()


def flashinfer_prefill(
    q: np.ndarray, keys: np.ndarray, values: np.ndarray, history: int, dtype: str, page_size: int
):
    """FlashInfer's BatchPrefillWithPagedKVCacheWrapper (causal) with history and prompt paged."""
    import flashinfer
    import torch

    from .devices_torch import to_torch

    batch, prompt, num_q_heads, head_dim = q.shape
    length = history + prompt
    pages_per_seq = -(-length // page_size)
    order = np.arange(batch * pages_per_seq, dtype=np.int32).reshape(batch, pages_per_seq)
    k_pool = _flashinfer_pool(keys, page_size, order)
    v_pool = _flashinfer_pool(values, page_size, order)
    indptr, indices, last = _flashinfer_tables(batch, length, page_size, order)
    qo_indptr = torch.arange(batch + 1, dtype=torch.int32, device="cuda") * prompt
    workspace = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
    wrapper = flashinfer.BatchPrefillWithPagedKVCacheWrapper(workspace, "NHD")
    torch_dtype = getattr(torch, dtype)
    wrapper.plan(
        qo_indptr, indptr, indices, last, num_q_heads, keys.shape[2], head_dim, page_size,
        causal=True, q_data_type=torch_dtype, kv_data_type=torch_dtype,
    )  # fmt: skip
    tq = to_torch(q.reshape(batch * prompt, num_q_heads, head_dim), "cuda")

    def run():
        return wrapper.run(tq, (k_pool, v_pool))

    return run, lambda out: out.float().cpu().numpy()
