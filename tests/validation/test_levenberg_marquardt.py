"""validation/levenberg_marquardt.py on problems with known minima."""

from __future__ import annotations

import numpy as np
import torch

from validation.levenberg_marquardt import levenberg_marquardt


def _rosenbrock(t: torch.Tensor) -> torch.Tensor:
    return torch.stack((10.0 * (t[1] - t[0] ** 2), 1.0 - t[0]))


def _rosenbrock_jacobian(t: torch.Tensor) -> torch.Tensor:
    return torch.tensor([[-20.0 * float(t[0]), 10.0], [-1.0, 0.0]], dtype=t.dtype)


def test_levenberg_marquardt_solves_rosenbrock_from_the_classical_start():
    """r = (10(θ₁ − θ₀²), 1 − θ₀): the minimum θ = (1, 1) with ‖r‖ = 0, from (−1.2, 1)."""
    got = levenberg_marquardt(_rosenbrock, _rosenbrock_jacobian, torch.tensor([-1.2, 1.0], dtype=torch.float64), 100)
    np.testing.assert_allclose(got.numpy(), [1.0, 1.0], rtol=0, atol=1e-10)


def test_block_diagonal_gauss_newton_is_exact_when_the_blocks_do_not_couple():
    """r = (θ₀² − 4, 3θ₁ − 6, θ₂³ − 8): each residual touches one block, so dropping the couplings
    loses nothing and the minimum (2, 2, 2) is found. On Rosenbrock, whose first residual couples
    θ₀ and θ₁, the block-diagonal matrix (diagonal here) is a worse model than the full one: the
    full one is at (1, 1) to 1e-8 after 20 iterations, the split one is not."""
    def residual(t):
        return torch.stack((t[0] ** 2 - 4.0, 3.0 * t[1] - 6.0, t[2] ** 3 - 8.0))

    def jacobian(t):
        return torch.diag(torch.stack((2.0 * t[0], torch.tensor(3.0, dtype=t.dtype), 3.0 * t[2] ** 2)))

    blocks = [slice(0, 1), slice(1, 2), slice(2, 3)]
    got = levenberg_marquardt(residual, jacobian, torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64), 50, blocks=blocks)
    np.testing.assert_allclose(got.numpy(), [2.0, 2.0, 2.0], rtol=0, atol=1e-10)
    start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    full = levenberg_marquardt(_rosenbrock, _rosenbrock_jacobian, start, 20)
    split = levenberg_marquardt(_rosenbrock, _rosenbrock_jacobian, start, 20, blocks=[slice(0, 1), slice(1, 2)])
    assert np.linalg.norm(full.numpy() - 1.0) < 1e-8 < np.linalg.norm(split.numpy() - 1.0)
