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

    return {
        "mlx_sdpa": missing("mlx") if device == "cpu" else "MLX runs on the CPU (or Metal) only",
        "torch_sdpa": missing("torch"),
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
