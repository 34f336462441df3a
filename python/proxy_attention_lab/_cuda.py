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

# NVRTC 13 first (what PAL is built and tested with), then 12 (the CUDA 12 drivers' NVRTC, which
# torch's cu12 builds bring as the `nvidia-cuda-nvrtc-cu12` wheel).
_NVRTC = ("libnvrtc.so.13", "libnvrtc.so.12")
_NVRTC_DIRS = ("nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib", "lib64", "lib")


def nvrtc_candidates(roots: list[str]) -> list[str]:
    """Where NVRTC may be, in the order tried: each version by name (the loader's own search),
    then in a wheel or toolkit folder under each root."""
    candidates = []
    for name in _NVRTC:
        candidates.append(name)
        candidates += [str(Path(root) / sub / name) for root in roots for sub in _NVRTC_DIRS]
    return candidates


@functools.cache
def load_nvrtc() -> None:
    """Makes NVRTC loadable by the native library: the system's if the loader finds it, else one
    from a CUDA toolkit or an NVRTC wheel, loaded globally so the native library's own lookup by
    name finds it. Missing NVRTC is reported by the native library, clearly."""
    roots = [*sys.path, os.environ.get("CUDA_HOME", ""), "/usr/local/cuda"]
    for candidate in nvrtc_candidates(roots):
        if "/" not in candidate or os.path.exists(candidate):
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
