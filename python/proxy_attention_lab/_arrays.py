"""Array-kind plumbing of the facade: dtype names and outputs of the same kind as an input."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import PalTypeError

try:  # numpy has no bfloat16 of its own
    import ml_dtypes

    _NUMPY_DTYPES = {"bfloat16": np.dtype(ml_dtypes.bfloat16)}
except ImportError:  # pragma: no cover - ml_dtypes is a dependency
    _NUMPY_DTYPES = {}


def dtype_name(dtype: Any) -> str:
    """Canonical name of a numpy / torch / MLX dtype, or the name itself."""
    if isinstance(dtype, str):
        return dtype
    if type(dtype).__module__.startswith("torch") or type(dtype).__module__.startswith("mlx"):
        return str(dtype).rsplit(".", 1)[-1]
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype).rsplit(".", 1)[-1]


def _numpy_dtype(name: str) -> np.dtype:
    return _NUMPY_DTYPES.get(name) or np.dtype(name)


def empty_like_kind(reference: Any, op: str, name: str) -> tuple[Any, Callable[[], Any]]:
    """An uninitialised array shaped like ``reference`` (argument ``name`` of ``op``) for PAL to
    write, and a thunk returning the result as ``reference``'s kind: torch stays torch (same
    device), numpy stays numpy, MLX gets an MLX array back, any other DLPack producer gets numpy."""
    module = type(reference).__module__
    if not (hasattr(reference, "shape") and hasattr(reference, "dtype")):
        raise PalTypeError(
            f"{op}: `{name}` must be a numpy array, a torch tensor or an object with __dlpack__, "
            f"got {type(reference).__name__}"
        )
    if module.startswith("torch"):
        import torch

        # empty_like skips rebuilding shape, dtype and device from Python objects (half the
        # cost of torch.empty per call); contiguous whatever the reference's strides.
        out = torch.empty_like(reference, memory_format=torch.contiguous_format)
        return out, lambda: out
    shape = tuple(reference.shape)
    if isinstance(reference, np.ndarray):
        out = np.empty(shape, dtype=reference.dtype)
        return out, lambda: out
    out = np.empty(shape, dtype=_numpy_dtype(dtype_name(reference.dtype)))
    if module.startswith("mlx"):
        import mlx.core as mx

        return out, lambda: mx.array(out)
    return out, lambda: out


_INT32_RANGE = (-(2**31), 2**31 - 1)


def as_index(array: Any) -> Any:
    """An int64 index tensor (torch's default dtype for integers; vLLM's ``slot_mapping``) as
    int32, the index dtype of PAL's kernels; anything else as it is. Values outside int32 are
    clamped to its range, where they stay as invalid as they were (reported as bad entries;
    negative slots still skip). A torch tensor stays on its device (no synchronisation)."""
    if array is None:
        return None
    if type(array).__module__.startswith("torch"):
        if str(array.dtype) != "torch.int64":
            return array
        import torch

        return array.clamp(*_INT32_RANGE).to(torch.int32)
    if isinstance(array, np.ndarray) and array.dtype == np.int64:
        return np.clip(array, *_INT32_RANGE).astype(np.int32)
    return array
