"""Shared fixtures: a fresh random generator per test, and device / peer availability."""

from __future__ import annotations

import importlib.util
import zlib

import numpy as np
import pytest

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_MLX = importlib.util.find_spec("mlx") is not None


@pytest.fixture
def rng(request) -> np.random.Generator:
    """Fresh inputs per test case, reproducible from the test's id."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)
