"""Array-kind plumbing of the facade: dtype names and outputs of the same kind as an input."""

from __future__ import annotations

import re
import sys
from typing import Any, Callable

import numpy as np

from . import _native
from .errors import PalTypeError, PalValueError

try:  # numpy has no bfloat16 of its own
    import ml_dtypes

    _NUMPY_DTYPES = {"bfloat16": np.dtype(ml_dtypes.bfloat16)}
except ImportError:  # pragma: no cover - ml_dtypes is a dependency
    _NUMPY_DTYPES = {}


def dtype_name(dtype: Any) -> str:
    """Canonical name of a numpy / torch / MLX dtype, or the name itself. ``None`` stays
    ``"None"`` (numpy would read it as float64, and an error would name a dtype never given)."""
    if isinstance(dtype, str):
        return dtype
    if dtype is None:
        return "None"
    if type(dtype).__module__.startswith("torch") or type(dtype).__module__.startswith("mlx"):
        return str(dtype).rsplit(".", 1)[-1]
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype).rsplit(".", 1)[-1]


def _numpy_dtype(name: str) -> np.dtype:
    return _NUMPY_DTYPES.get(name) or np.dtype(name)


def torch_module() -> Any:
    """torch once it is imported (PAL never imports it itself), else None."""
    global _TORCH
    if _TORCH is None:
        _TORCH = sys.modules.get("torch")
    return _TORCH


def torch_tensor_class() -> Any:
    """``torch.Tensor`` once torch is imported, else None."""
    torch = torch_module()
    return None if torch is None else torch.Tensor


_TORCH: Any = None


def _is_row_view(array: Any) -> bool:
    """Whether ``array`` is a torch tensor or numpy array that is not C-contiguous but whose last
    dimension is (a strided view, e.g. a slice of a fused QKV projection)."""
    tensor = torch_tensor_class()
    if tensor is not None and isinstance(array, tensor):
        return not array.is_contiguous() and array.dim() > 0 and array.stride(-1) == 1
    if isinstance(array, np.ndarray):
        return not array.flags.c_contiguous and array.ndim > 0 and array.strides[-1] == array.itemsize
    return False


def dense(array: Any) -> Any:
    """A strided view with a contiguous last dimension (SPEC §3.4: q, k, v, queries, new keys and
    values) as a C-contiguous copy, which PAL's kernels read; anything else as it is (other
    layouts are refused by the native call, naming the argument). Host views known only through
    ``__dlpack__`` or ``__array_interface__`` (MLX slices, any producer) are copied by the native
    module, into numpy (the output keeps the kind of the array given: `output_like`)."""
    if _is_row_view(array):
        return np.ascontiguousarray(array) if isinstance(array, np.ndarray) else array.contiguous()
    tensor = torch_tensor_class()
    if isinstance(array, np.ndarray) or (tensor is not None and isinstance(array, tensor)):
        return array
    if not (hasattr(array, "__dlpack__") or hasattr(array, "__array_interface__")):
        return array
    copy = _native.dense_host_copy("", "", array)
    if copy is None:
        return array
    shape, dtype, data = copy
    return np.frombuffer(data, dtype=_numpy_dtype(dtype)).reshape(shape)


def kind_of(given: Any, dense_array: Any) -> Any:
    """What an output is made like: the dense array `dense` made of ``given``, unless that changed
    its kind (a host view known through ``__dlpack__``, copied into numpy): then ``given``."""
    return dense_array if type(dense_array) is type(given) else given


def output_like(
    reference: Any, out: Any, op: str, name: str, reads: dict[str, Any] | None = None
) -> tuple[Any, Callable[[Any], Any] | None]:
    """The array PAL writes (``out``, or a new one shaped like ``reference``, argument ``name`` of
    ``op``) and, when the result is not that array itself, how to make it: torch stays torch
    (same device, contiguous), numpy stays numpy, MLX gets an MLX array back, any other DLPack
    producer gets numpy. A strided ``out`` view is written through a contiguous array, so the
    native check that an output shares no bytes with the arrays the call ``reads`` (name ->
    array) is made here for it."""
    if out is not None:
        if _is_row_view(out):
            if isinstance(out, np.ndarray) and not out.flags.writeable:
                raise PalValueError(f"{op}: `out` must be a writable array, got a read-only array")
            mine = _byte_range(out)
            for other, array in (reads or {}).items():
                theirs = _byte_range(array)
                if mine and theirs and mine[0] == theirs[0] and mine[1] < theirs[2] and theirs[1] < mine[2]:
                    raise PalValueError(f"{op}: `out` must not overlap `{other}` in memory")
            staged = output_like(out, None, op, "out")[0]
            return staged, lambda result: _copy_into(out, result)
        return out, None
    tensor = torch_tensor_class()
    if tensor is not None and isinstance(reference, tensor):
        # Contiguous for every reference PAL accepts (it refuses strided ones before writing).
        return torch_module().empty_like(reference), None
    if isinstance(reference, np.ndarray):  # (the common host case: no protocol call)
        return np.empty(reference.shape, dtype=reference.dtype), None
    if not (hasattr(reference, "shape") and hasattr(reference, "dtype")) or _off_host(reference):
        # Known only through __dlpack__, or a device array of another library (CuPy, JAX: its
        # shape and dtype say nothing of its device), or not an array: the native reader says which.
        shape, dtype, device = _native.array_info(op, name, reference)
        if device is None:
            try:
                dtype = _numpy_dtype(dtype)
            except TypeError:
                # No dtype PAL reads (DLPack's complex, bool, ...): the native call refuses
                # `name`, naming it and the dtypes it takes, before anything is written here.
                dtype = np.float32
            return np.empty(shape, dtype=dtype), None
        torch = torch_module()
        if torch is None:
            raise PalTypeError(
                f"{op}: `{name}` is a CUDA array known only through __dlpack__: pass `out=`, or import "
                "torch (PAL then returns a torch tensor)"
            )
        return torch.empty(shape, dtype=getattr(torch, dtype), device=f"cuda:{device}"), None
    shape = tuple(reference.shape)
    out = np.empty(shape, dtype=_numpy_dtype(dtype_name(reference.dtype)))
    if type(reference).__module__.startswith("mlx"):
        import mlx.core as mx

        return out, mx.array
    return out, None


def _off_host(array: Any) -> bool:
    """Whether a DLPack producer says its data is not in host memory (DLPack's kDLCPU is 1)."""
    try:
        return array.__dlpack_device__()[0] != 1
    except Exception:  # no protocol (numpy before 1.22's DLPack, plain objects) or a broken one
        return False


_INT32_RANGE = (-(2**31), 2**31 - 1)


def as_index(array: Any, name: str = "", clamped: dict[str, Any] | None = None) -> Any:
    """An int64 index array (torch's default dtype for integers; vLLM's ``slot_mapping``) as
    int32, the index dtype of PAL's kernels, and a strided view with a contiguous last dimension
    (a block table sliced out of a larger one) as a contiguous copy, as narrowing makes one;
    anything else as it is. Values outside int32 are clamped to its range, where they stay as
    invalid as they were (reported as bad entries; negative slots still skip); a host array that
    needed it is kept in ``clamped[name]``, and so is every int64 CUDA tensor (a reference: its
    values are read only if an error names one of its entries), so that `as_given` can report
    what was given. A torch tensor stays on its device (no synchronisation). Other host arrays
    (``__array_interface__``, or ``__dlpack__`` on the CPU) are read through a numpy view, other
    CUDA ones through torch where it is imported."""
    if array is None:
        return None
    tensor = torch_tensor_class()
    if tensor is None or not isinstance(array, tensor):
        if not isinstance(array, np.ndarray):
            array = _index_view(array)
        if isinstance(array, np.ndarray):
            if array.dtype != np.int64:
                return dense(array)
            narrowed = array.astype(np.int32)  # wraps what lies outside int32 ...
            if not np.array_equal(narrowed, array):  # ... which is clamped instead
                narrowed = np.clip(array, *_INT32_RANGE).astype(np.int32)
                if clamped is not None:
                    clamped[name] = array
            return narrowed
        if tensor is None or not isinstance(array, tensor):
            return array
    torch = torch_module()
    if array.dtype is not torch.int64:
        return dense(array)
    if clamped is not None and array.numel() and not torch.compiler.is_compiling():
        if array.is_cuda:
            clamped[name] = array
        elif bool(array.min() < _INT32_RANGE[0]) or bool(array.max() > _INT32_RANGE[1]):
            clamped[name] = array.numpy()
    return array.clamp(*_INT32_RANGE).to(torch.int32)


def _index_view(array: Any) -> Any:
    """A numpy view of a host array known through ``__array_interface__`` or a CPU ``__dlpack__``,
    a torch view of a CUDA ``__dlpack__`` one where torch is imported; else the object itself
    (the native reader then names what it cannot read)."""
    try:
        if hasattr(array, "__array_interface__"):
            return np.asarray(array)
        if hasattr(array, "__dlpack__") and hasattr(array, "__dlpack_device__"):
            device_type = array.__dlpack_device__()[0]
            if device_type == 1:  # kDLCPU
                return np.from_dlpack(array)
            torch = torch_module()
            if torch is not None and device_type == 2:  # kDLCUDA
                return torch.from_dlpack(array)
    except (TypeError, ValueError, BufferError, RuntimeError):
        pass
    return array


# The entry an index error is about (`name[i, j]` ... got N, at the end) and any other entry it
# quotes by value (name[i] = N, e.g. the offset an offset must not fall below).
_GIVEN = re.compile(r"`(\w+)\[([\d, ]+)\]`(.*), got (-?\d+)$", re.S)
_QUOTED = re.compile(r"\b(\w+)\[([\d, ]+)\] = (-?\d+)")


def as_given(error: PalValueError, clamped: dict[str, Any]) -> PalValueError:
    """``error`` with every value of an index entry that `as_index` clamped, the entry it reports
    (``got N``) and any it quotes (``name[i] = N``), read as the caller gave it (SPEC §6: an error
    names the argument, the entry and what was given), not as the int32 it was clamped to; any
    other error as it is. (A CUDA tensor's entry is read here, on the error path only.)"""
    if not clamped:
        return error

    def given(name: str, index: str, value: str) -> str:
        if name not in clamped or int(value) not in _INT32_RANGE:
            return value
        return str(int(clamped[name][tuple(int(i) for i in index.split(","))]))

    message = str(error)
    rewritten = _QUOTED.sub(lambda m: f"{m[1]}[{m[2]}] = {given(m[1], m[2], m[3])}", message)
    found = _GIVEN.search(rewritten)
    if found is not None:
        rewritten = rewritten[: found.start(4)] + given(found[1], found[2], found[4])
    return error if rewritten == message else type(error)(rewritten)


def _byte_range(array: Any) -> tuple[str, int, int] | None:
    """(device, first byte, one past the last byte) that a numpy array or torch tensor spans; None
    for an empty one or another kind (the native reader checks the arrays it reads itself)."""
    if isinstance(array, np.ndarray):
        device, start = "cpu", array.__array_interface__["data"][0]
        shape, strides, size, itemsize = array.shape, array.strides, 1, array.itemsize  # (strides in bytes)
    elif (tensor := torch_tensor_class()) is not None and isinstance(array, tensor):
        device, start = str(array.device), array.data_ptr()
        shape, strides, size = tuple(array.shape), array.stride(), array.element_size()
        itemsize = size
    else:
        return None
    if 0 in shape:
        return None
    low = sum(min(0, (n - 1) * s) for n, s in zip(shape, strides)) * size
    high = sum(max(0, (n - 1) * s) for n, s in zip(shape, strides)) * size
    return device, start + low, start + high + itemsize


def _copy_into(out: Any, result: Any) -> Any:
    if isinstance(out, np.ndarray):
        np.copyto(out, result)
    else:
        out.copy_(result)
    return out
