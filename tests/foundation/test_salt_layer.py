"""The single-wall double layer of any z₊:z₋ salt, found numerically (physics/salt_layer.py)."""

import numpy as np
import pytest
import torch

from eofpinn.physics.exact import gouy_chapman, poisson_boltzmann
from eofpinn.physics.salt_layer import layer_potential

ZETAS = (-6.0, -2.4, -0.3, 0.0, 1e-7, 0.5, 3.0, 7.9)


def _layer(zeta: float, s, valences):
    return layer_potential(torch.tensor(zeta, dtype=torch.float64), torch.as_tensor(s, dtype=torch.float64), valences)


@pytest.mark.parametrize("valences", [(1.0, -1.0), (2.0, -1.0), (1.0, -2.0)])
def test_it_is_the_closed_form_layer_where_there_is_one(valences):
    """z:z, 2:1 and 1:2 salts: the closed forms of exact.gouy_chapman to 2e-13 from the wall
    to 60 Debye lengths (measured 1.5e-13 at ζ̂ = −6, 2:1)."""
    s = np.linspace(0.0, 60.0, 3001)
    for zeta in ZETAS:
        found = _layer(zeta, s, valences)["f"].numpy()
        assert np.abs(found - gouy_chapman(zeta, s, 1.0, valences)).max() < 2e-13, zeta


@pytest.mark.parametrize("valences", [(3.0, -1.0), (1.0, -3.0), (1.5, -1.0)])
def test_a_3_1_layer_solves_poisson_boltzmann(valences):
    """Salts with no closed form: ψ = ζ̂ at the wall; ψ_s² = 2G(ψ) (the first integral) and ψ_ss
    the Poisson–Boltzmann right-hand side to rounding; and two walls of a thin channel (ε = 0.03)
    superposed are the BVP solution of exact.poisson_boltzmann to 1e-12 (measured 1.6e-13)."""
    z_plus, z_minus = valences
    s = torch.linspace(0.0, 40.0, 2001, dtype=torch.float64)
    for zeta in ZETAS:
        found = _layer(zeta, s, valences)
        psi = found["f"]
        assert float(psi[0]) == zeta
        g = ((torch.exp(-z_plus * psi) - 1.0) / z_plus - (torch.exp(-z_minus * psi) - 1.0) / z_minus) / (z_plus - z_minus)
        rhs = -(torch.exp(-z_plus * psi) - torch.exp(-z_minus * psi)) / (z_plus - z_minus)
        scale = 1.0 + float(rhs.abs().max())
        assert float((found["s"] ** 2 - 2.0 * g).abs().max()) < 1e-12 * scale, zeta
        assert float((found["ss"] - rhs).abs().max()) < 1e-12 * scale, zeta
        assert bool((torch.sign(found["s"]) * np.sign(zeta) <= 0).all())  # it decays towards the bulk
    y = np.linspace(0.0, 1.0, 201)
    for zeta in (-2.4, 3.0):
        two_walls = sum(_layer(zeta, d / 0.03, valences)["f"].numpy() for d in (y, 1.0 - y))
        exact = poisson_boltzmann(y, 0.03, zeta, valences=valences)[0]
        assert np.abs(two_walls - exact).max() < 1e-12


@pytest.mark.parametrize("valences", [(3.0, -1.0), (1.0, -2.0)])
def test_its_derivatives_in_zeta_are_those_of_its_values(valences):
    """ψ_ζ, ψ_ζζ and ψ_ζs against fourth-order differences of ψ and ψ_s in ζ̂ (step 1e-2):
    to 1e-7 relative (the differences' own error ~h⁴)."""
    s = torch.tensor([0.0, 0.05, 0.4, 1.0, 3.0, 12.0], dtype=torch.float64)
    h = 1e-2
    for zeta in (-5.0, -1.3, -0.02, 0.0, 0.7, 4.0):
        found = _layer(zeta, s, valences)
        around = [_layer(zeta + k * h, s, valences) for k in (-2, -1, 1, 2)]

        def first(key):
            return (around[0][key] - 8 * around[1][key] + 8 * around[2][key] - around[3][key]) / (12 * h)

        second = (-around[0]["f"] + 16 * around[1]["f"] - 30 * found["f"] + 16 * around[2]["f"] - around[3]["f"]) / (12 * h * h)
        for name, estimate in (("z", first("f")), ("zs", first("s")), ("zz", second)):
            assert torch.allclose(found[name], estimate, rtol=1e-7, atol=1e-7), (zeta, name)


def test_far_from_the_wall_it_decays_like_a_debye_hueckel_layer():
    """Beyond the nonlinear part ψ ∝ e^{−s}: the ratio of ψ one Debye length apart is e^{−1} to
    1e-9 at s = 30, for ζ̂ = −6 of a 3:1 salt; at s = 800 ψ underflows to zero without error."""
    found = _layer(-6.0, torch.tensor([30.0, 31.0, 800.0]), (3.0, -1.0))["f"]
    assert float(found[1] / found[0]) == pytest.approx(np.exp(-1.0), rel=1e-9)
    assert float(found[2]) == 0.0
