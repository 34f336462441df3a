"""A CUDA device for the sweeps (through torch): CUDA-event timing with the L2 flushed before
every run, and the ceilings SPEC §7 compares with, measured in the same run."""

from __future__ import annotations

import subprocess
from typing import Any, Callable

import numpy as np

from ..testing import from_torch, to_torch
from .devices import Timing


class CudaDevice:
    name = "cuda"
    # Fill rates count bytes read plus bytes written, like the device-copy ceiling.
    copy_counts_read_and_write = True

    def __init__(self, runs: int = 50):
        import torch

        self.torch = torch
        self.runs = runs
        # Twice the largest L2 (H200: 60 MB): writing it evicts whatever a previous run left there.
        self._flush = torch.empty(128 * 2**20, dtype=torch.uint8, device="cuda")

    def put(self, array: np.ndarray) -> Any:
        return to_torch(array, "cuda")

    def to_numpy(self, tensor: Any) -> np.ndarray:
        return from_torch(tensor)

    def time(self, run: Callable[[], Any], working_set_bytes: int, share: float = 1.0) -> Timing:
        """``share`` of the runs (a round of several, `Sweep`'s rounds)."""
        torch = self.torch
        run()  # warm-up: JIT compilation, workspace sizing
        torch.cuda.synchronize()
        runs = max(1, round(self.runs * share))
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
        for start, end in zip(starts, ends):
            self._flush.zero_()
            start.record()
            run()
            end.record()
        torch.cuda.synchronize()
        return Timing([s.elapsed_time(e) for s, e in zip(starts, ends)])

    def _best_ms(self, run: Callable[[], Any]) -> float:
        return self.time(run, 0).p10_ms

    def ceilings(self) -> dict:
        torch = self.torch
        src = torch.empty(2**30, dtype=torch.uint8, device="cuda")
        dst = torch.empty_like(src)
        copy_ms = self._best_ms(lambda: dst.copy_(src))
        halves = src.view(torch.bfloat16)
        read_ms = self._best_ms(lambda: halves.sum(dtype=torch.float32))
        a = torch.randn(8192, 8192, dtype=torch.bfloat16, device="cuda")
        matmul_ms = self._best_ms(lambda: a @ a)
        return {
            "device_copy_GBps": 2 * 2**30 / (copy_ms * 1e-3) / 1e9,
            "read_GBps": 2**30 / (read_ms * 1e-3) / 1e9,
            "matmul_TFLOPs": 2 * 8192**3 / (matmul_ms * 1e-3) / 1e12,
        }

    def describe(self) -> dict:
        torch = self.torch
        props = torch.cuda.get_device_properties(0)
        return {
            "device": "cuda",
            "name": props.name,
            "multiprocessors": props.multi_processor_count,
            "cuda": torch.version.cuda,
            "driver": _driver_version(),
        }


def _driver_version() -> str | None:
    try:
        query = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
        return subprocess.run(query, capture_output=True, text=True, timeout=30).stdout.split()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None
