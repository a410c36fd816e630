"""The few array operations the residual needs, for numpy, torch and `Stencil` alike.

The discrete residual is written once against these functions: numpy evaluates it (fast,
for Newton), `Stencil` differentiates it (the sparse Jacobian) and torch re-derives the same
Jacobian independently by forward-mode AD in the tests.
"""

from __future__ import annotations

import numpy as np
import torch

from eofpinn.solvers.fd.stencil import Stencil


def roll(x, shift: int):
    """Cyclic shift along axis 0 (x)."""
    if isinstance(x, Stencil):
        return x.roll(shift)
    if isinstance(x, torch.Tensor):
        return torch.roll(x, shift, 0)
    return np.roll(x, shift, 0)


def cat(items: list, axis: int):
    if any(isinstance(item, Stencil) for item in items):
        return Stencil.cat(items, axis)
    if any(isinstance(item, torch.Tensor) for item in items):
        return torch.cat([torch.as_tensor(item, dtype=torch.float64) for item in items], dim=axis)
    return np.concatenate(items, axis)


def pad_y(x):
    """One zero column on each side along axis 1 (v = 0 on the walls)."""
    zeros = zeros_like(x[:, :1])
    return cat([zeros, x, zeros], 1)


def zeros_like(x):
    """A constant zero array shaped like x (never carries derivatives)."""
    if isinstance(x, torch.Tensor):
        return torch.zeros_like(x)
    return np.zeros(np.shape(x.val if isinstance(x, Stencil) else x))


def exp(x):
    if isinstance(x, Stencil):
        return x.apply(np.exp, np.exp)
    if isinstance(x, torch.Tensor):
        return torch.exp(x)
    return np.exp(x)


def total(x):
    """Sum of all entries, as a length-1 array."""
    if isinstance(x, torch.Tensor):
        return x.sum()[None]
    return np.atleast_1d(np.sum(x))
