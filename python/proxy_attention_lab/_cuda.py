"""Launch settings for CUDA tensors: torch's current stream, the NVRTC library, and whether the
device-side index tensors are validated (not while a CUDA graph is being captured)."""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from pathlib import Path
from typing import Any

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
    return type(array).__module__.startswith("torch") and getattr(array, "is_cuda", False)


def launch_settings(array: Any, check: bool | None) -> dict:
    """Keyword arguments of a native call for data like ``array``."""
    if not is_cuda_tensor(array):
        return {"check": check}
    import torch

    load_nvrtc()
    capturing = torch.cuda.is_current_stream_capturing()
    return {
        "cuda_stream": torch.cuda.current_stream(array.device).cuda_stream,
        # A capture must not synchronise: an immediate check becomes a deferred one there.
        "check": None if capturing and check else check,
    }
