"""numpy -> torch conversion that keeps bfloat16 (numpy has it only through ml_dtypes)."""

from __future__ import annotations

import numpy as np


def to_torch(array: np.ndarray, device: str):
    import torch

    array = np.ascontiguousarray(array)
    if array.dtype.name == "bfloat16":
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16).to(device)
    return torch.from_numpy(array).to(device)
