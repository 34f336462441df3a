"""Shared fixtures: a fresh random generator per test, and device / peer availability."""

from __future__ import annotations

import importlib.util
import os
import zlib

import numpy as np
import pytest
from proxy_attention_lab.testing import cuda_available

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_MLX = importlib.util.find_spec("mlx") is not None


class BareDLPack:
    """A producer with nothing but the DLPack protocol (no ``shape`` or ``dtype``)."""

    def __init__(self, array: np.ndarray):
        self.array = array

    def __dlpack__(self, stream=None):
        return self.array.__dlpack__()

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


@pytest.fixture
def rng(request) -> np.random.Generator:
    """Fresh inputs per test case, reproducible from the test's id."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


@pytest.fixture(
    params=["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not cuda_available(), reason="no GPU"))]
)
def device(request) -> str:
    """The backend a test runs on: the CPU (numpy arrays), and CUDA (torch tensors) where there is a GPU."""
    return request.param


@pytest.fixture
def lab_script():
    """Loads one of the lab's scripts (scripts/NAME.py) as a module, for tests of its logic."""

    def load(name: str):
        path = os.path.join(os.path.dirname(__file__), "..", "scripts", f"{name}.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
