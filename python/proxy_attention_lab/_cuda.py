"""Launch settings for CUDA tensors: torch's current stream, the NVRTC library, and whether the
device-side index tensors are validated (not while a CUDA graph is being captured)."""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from pathlib import Path
from typing import Any

from ._arrays import torch_module, torch_tensor_class

_NVRTC = "libnvrtc.so.13"


@functools.cache
def load_nvrtc() -> None:
    """Makes NVRTC loadable by the native library: the system's if the loader finds it, else one
    from a CUDA toolkit or the `nvidia-cuda-nvrtc` wheel, loaded globally so the native library's
    own lookup by name finds it. Missing NVRTC is reported by the native library, clearly."""
    candidates = [_NVRTC]
    for root in [*sys.path, os.environ.get("CUDA_HOME", ""), "/usr/local/cuda"]:
        for sub in ("nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib", "lib64", "lib"):
            candidates.append(str(Path(root) / sub / _NVRTC))
    for candidate in candidates:
        if candidate == _NVRTC or os.path.exists(candidate):
            try:
                ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
                return
            except OSError:
                continue


def is_cuda_tensor(array: Any) -> bool:
    tensor = torch_tensor_class()
    return tensor is not None and isinstance(array, tensor) and array.is_cuda


def launch_settings(array: Any, check: bool | None) -> tuple[int, bool | None]:
    """``(cuda_stream, check)`` of a native call for data like ``array``: torch's current stream
    on the array's GPU (0 off the GPU), and the check mode (a capture must not synchronise: an
    immediate check becomes a deferred one there). Built from torch's raw accessors: a decode
    call's host cost is part of its latency."""
    if not is_cuda_tensor(array):
        return 0, check
    torch = torch_module()
    load_nvrtc()
    stream = _raw_stream(torch)(array.get_device())
    if check and torch.cuda.is_current_stream_capturing():
        check = None
    return stream, check


@functools.cache
def _raw_stream(torch: Any) -> Any:
    """Device index -> handle of torch's current stream there (the raw accessor where torch has it)."""
    raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
    return raw or (lambda index: torch.cuda.current_stream(index).cuda_stream)
