"""Where a sweep runs: moving arrays there, timing, and the memory / compute ceilings measured in
the same run."""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np


class Timing:
    """Median latency with its spread (10th to 90th percentile), in milliseconds; ``samples``
    keeps every run's, so that rounds of one implementation merge."""

    def __init__(self, samples_ms: list[float]):
        ordered = sorted(samples_ms)
        self.samples = ordered
        self.median_ms = statistics.median(ordered)
        self.p10_ms = ordered[int(0.1 * (len(ordered) - 1))]
        self.p90_ms = ordered[int(0.9 * (len(ordered) - 1))]
        self.runs = len(ordered)

    def as_dict(self) -> dict:
        return {"median_ms": self.median_ms, "p10_ms": self.p10_ms, "p90_ms": self.p90_ms, "runs": self.runs}


class CpuDevice:
    """Host arrays (numpy); wall-clock timing; memcpy bandwidth as the ceiling."""

    name = "cpu"
    # Fill rates count bytes copied, like the memcpy ceiling.
    copy_counts_read_and_write = False

    def __init__(self, min_runs: int = 5, min_seconds: float = 0.5):
        self.min_runs, self.min_seconds = min_runs, min_seconds
        # Larger than the last-level cache, so a flush evicts whatever a previous run left there.
        self._flush = np.ones(64 * 2**20 // 4, np.float32)

    def put(self, array: np.ndarray) -> Any:
        return array

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array)

    def time(self, run: Callable[[], Any], working_set_bytes: int, share: float = 1.0) -> Timing:
        """``share`` of the runs (a round of several, `Sweep`'s rounds)."""
        flush = working_set_bytes < 4 * self._flush.nbytes
        run()  # warm-up
        samples: list[float] = []
        runs, seconds = max(1, math.ceil(self.min_runs * share)), self.min_seconds * share
        start = time.perf_counter()
        while len(samples) < runs or time.perf_counter() - start < seconds:
            if flush:
                self._flush += 1.0
            t0 = time.perf_counter()
            run()
            samples.append((time.perf_counter() - t0) * 1e3)
        return Timing(samples)

    def ceilings(self) -> dict:
        """On all cores, over 1 GiB: memcpy in GB/s of bytes copied (the figure memcpy benchmarks
        quote; the memory traffic is twice that) and a read-only stream (a sum); float32 matmul
        for prefill. The decode's paged-read ceiling SPEC §7 names is taken beside each decode
        case instead (`paged_read`)."""
        found = {}
        a = np.ones((2048, 2048), np.float32)
        a @ a  # warm-up: the BLAS threads
        found["matmul_TFLOPs"] = 2 * 2048**3 / min(self._once(lambda: a @ a) for _ in range(3)) / 1e12
        src = np.ones(256 * 2**20, np.float32)
        dst = np.empty_like(src)
        workers = os.cpu_count() or 1
        bounds = [(int(p[0]), int(p[-1]) + 1) for p in np.array_split(np.arange(src.size), workers) if p.size]
        with ThreadPoolExecutor(len(bounds)) as pool:

            def on_all_cores(work: Callable[[int, int], Any]) -> float:
                list(pool.map(lambda b: work(*b), bounds))  # warm-up: page faults, thread start
                return min(self._once(lambda: list(pool.map(lambda b: work(*b), bounds))) for _ in range(5))

            copy = on_all_cores(lambda lo, hi: np.copyto(dst[lo:hi], src[lo:hi]))
            read = on_all_cores(lambda lo, hi: np.add.reduce(src[lo:hi]))
        return {"memcpy_GBps": src.nbytes / copy / 1e9, "read_GBps": src.nbytes / read / 1e9, **found}

    @staticmethod
    def paged_read(block: int) -> float:
        """GB/s of the paged-read ceiling for pages of `block` bytes (`pal_core::read_ceiling`,
        the best of its cells over 256 MiB; about a second). The sweep takes it again beside
        each decode case: this VM's rate moves by up to 2x between minutes."""
        from .. import _native

        return _native.paged_read_ceiling(max(128, block // 128 * 128), 256 * 2**20)

    @staticmethod
    def _once(run: Callable[[], Any]) -> float:
        t0 = time.perf_counter()
        run()
        return time.perf_counter() - t0

    def describe(self) -> dict:
        model = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo") as info:
                model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        return {"device": "cpu", "name": model, "cores": os.cpu_count()}
