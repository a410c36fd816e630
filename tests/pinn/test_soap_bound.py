"""SOAP's safeguard: the rotated Adam ratio is clipped to 10 × Adam's own bound.

Adam's moving averages satisfy |m_t| ≤ B sqrt(v_t) with B = (1 − β₁)/sqrt((1 − β₂)(1 − β₁²/β₂))
for any gradients (Cauchy–Schwarz); SOAP keeps M and V in different bases, and where they
disagree (float32 rounding with a rank-deficient factor) the unclipped ratio blew a thin-layer
PINN up in one step (eofpinn/solvers/pinn/soap.py docstring).
"""

from __future__ import annotations

import math

import pytest
import torch

from eofpinn.solvers.pinn.soap import RATIO_CLIP, SOAP, adam_ratio_bound


def test_bound_formula_and_that_adam_respects_it():
    assert adam_ratio_bound(0.95, 0.95) == pytest.approx(1.0)
    assert adam_ratio_bound(0.9, 0.999) == pytest.approx(0.1 / math.sqrt(0.001 * (1 - 0.81 / 0.999)))
    assert adam_ratio_bound(0.99, 0.9) == math.inf  # β₁² ≥ β₂: no finite bound, no clip
    generator = torch.Generator().manual_seed(0)
    beta1, beta2 = 0.95, 0.95
    m = v = torch.zeros(1000, dtype=torch.float64)
    worst = 0.0
    for t in range(200):  # adversarial-ish: growing, sign-flipping gradients
        g = torch.randn(1000, generator=generator, dtype=torch.float64) * 1.05**t * (-1) ** t
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
        worst = max(worst, float((m.abs() / v.sqrt()).max()))
    assert worst <= adam_ratio_bound(beta1, beta2) + 1e-12


@pytest.mark.parametrize("bounded", [True, False])
def test_inconsistent_moments_move_a_weight_by_at_most_the_clipped_step(bounded):
    weight = torch.nn.Parameter(torch.zeros(4, 3))
    opt = SOAP([weight], lr=1e-3, betas=(0.95, 0.95), precondition_frequency=10, bound_update=bounded)
    weight.grad = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    opt.step()  # first call: statistics only
    state = opt.state[weight]
    state["exp_avg"].fill_(1e6)  # a first moment V knows nothing of: the inconsistency
    weight.grad = 1e-3 * torch.ones(4, 3)
    opt.step()
    step_size = 1e-3 * math.sqrt(1 - 0.95) / (1 - 0.95)
    moved = float(weight.detach().norm())  # Frobenius: the bases are orthogonal
    limit = step_size * RATIO_CLIP * adam_ratio_bound(0.95, 0.95) * math.sqrt(12)
    if bounded:
        assert moved <= limit * (1 + 1e-5)
    else:
        assert moved > 100 * limit
