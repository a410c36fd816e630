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


def test_the_jacobian_is_formed_once_per_point_and_not_at_all_when_given():
    """J is formed at the start and after each accepted step only: an iteration whose 30 trials
    are all rejected (here: a residual that no step can lower, r = (1, θ₀ − θ₀)) keeps its J, and a
    `first_jacobian` replaces the first call. The Rosenbrock iterates are the same either way."""
    calls = []

    def counted(t):
        calls.append(t.clone())
        return _rosenbrock_jacobian(t)

    start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    plain = levenberg_marquardt(_rosenbrock, counted, start, 20)
    formed = len(calls)
    assert all(not torch.equal(a, b) for a, b in zip(calls, calls[1:]))  # never twice at one θ
    calls.clear()
    given = levenberg_marquardt(_rosenbrock, counted, start, 20, first_jacobian=_rosenbrock_jacobian(start))
    assert len(calls) == formed - 1 and not torch.equal(calls[0], start)
    assert torch.equal(given, plain)
    calls.clear()

    def flat(t):
        return torch.stack((torch.ones_like(t[0]), t[0] - t[0]))

    def flat_jacobian(t):  # zero: JᵀJ + μD is singular at every μ, so no trial step is ever taken
        calls.append(t)
        return torch.zeros(2, 1, dtype=t.dtype)

    stuck = levenberg_marquardt(flat, flat_jacobian, torch.tensor([0.5], dtype=torch.float64), 3)
    assert len(calls) == 1 and float(stuck[0]) == 0.5


def test_only_block_weights_may_be_trainable():
    """The LM Jacobians are taken with respect to the blocks' weights: a model with another
    trainable parameter (here an open circuit's field) is refused with one line naming the caller."""
    import dataclasses

    import pytest

    from eofpinn.cases import Problem, ZetaSegment
    from eofpinn.cases.model import PINNSettings
    from eofpinn.cases.pinn_settings import replace
    from eofpinn.solvers.pinn.formulation import build_model
    from validation.levenberg_marquardt import require_block_weights_only

    wall = (ZetaSegment(0.0, 2.0, -1.0),)
    problem = Problem(debye_ratio=0.1, length_ratio=2.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall,
                      ends="reservoir")
    settings = replace(PINNSettings(), {"network.width": 8, "network.depth": 2})
    require_block_weights_only(build_model(problem, settings, torch.Generator().manual_seed(0)), "test")
    model = build_model(dataclasses.replace(problem, open_circuit=True), settings, torch.Generator().manual_seed(0))
    with pytest.raises(SystemExit, match=r"^pinn_gauss_newton: only the blocks' weights may be trainable \(no "
                                         r"trainable field or fluxes\)$"):
        require_block_weights_only(model, "pinn_gauss_newton")
