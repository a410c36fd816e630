"""PINN with charge walls and z₊:z₋ salts (issue 13 (g)): the exact solution zeroes every loss
term, the charge condition −∂ψ/∂n = σ̂ included, and a wrong wall potential does not."""

from __future__ import annotations

import dataclasses

import pytest

from eofpinn.cases import ChargeSegment, ZetaSegment, straight_problem
from eofpinn.cases.pinn_settings import replace
from eofpinn.physics.electrolyte import grahame_zeta
from eofpinn.solvers.pinn.formulation import Formulation, PINNModel
from eofpinn.solvers.pinn.losses import loss_terms


def _charged(eps, bottom, top, valences=(1.0, -1.0), **options):
    problem = straight_problem(eps, 0.0, **{"field_hat": 1.0, "length_ratio": 2.0, "pressure_drop_hat": 2.0,
                                            **options})
    return dataclasses.replace(problem, zeta_bottom=(bottom,), zeta_top=(top,), valence_plus=valences[0],
                               valence_minus=valences[1])


def _charge(eps, s, valences=(1.0, -1.0)):
    return ChargeSegment(0.0, 2.0, grahame_zeta(s, *valences), s / eps)


PROBLEMS = {
    "sigma_walls_periodic": _charged(0.2, _charge(0.2, -2.0), _charge(0.2, -2.0)),
    "zeta_bottom_sigma_top": _charged(0.2, ZetaSegment(0.0, 2.0, -1.0), _charge(0.2, 0.5)),
    "cacl2_zeta_periodic": _charged(0.2, ZetaSegment(0.0, 2.0, -1.5), ZetaSegment(0.0, 2.0, -1.5), (2.0, -1.0)),
    "cacl2_sigma_reservoir_boltzmann": _charged(0.2, _charge(0.2, -2.0, (2.0, -1.0)), _charge(0.2, -2.0, (2.0, -1.0)),
                                                (2.0, -1.0), ends="reservoir", ion_wall="boltzmann"),
}


@pytest.mark.parametrize("hard_walls", (True, False))
@pytest.mark.parametrize("name", PROBLEMS)
def test_every_loss_term_vanishes_for_the_exact_solution(name, hard_walls, small_settings, exact_networks_factory,
                                                          points_off_the_walls):
    problem = PROBLEMS[name]
    settings = replace(small_settings, {"formulation.hard_walls": hard_walls})
    form = Formulation.build(problem, settings.formulation)
    assert form.hard_psi == (hard_walls and not problem.has_charge())
    terms = loss_terms(problem, PINNModel(exact_networks_factory(problem, form), form),
                       points_off_the_walls(problem, settings))
    assert ("wall_charge" in terms) == problem.has_charge()
    for term, value in terms.items():
        # Walls sit 1e-7 inside the domain: wall values are off by O(1e-7 · slope), squared.
        assert float(value) < (1e-8 if term.startswith("wall") else 1e-16), (term, float(value))


def test_the_charge_term_sees_a_wrong_wall_charge(small_settings, exact_networks_factory, points_off_the_walls):
    """The exact fields of σ̂ = −10 scored against walls of σ̂ = −12: wall_charge = (2)² on every wall point."""
    problem = PROBLEMS["sigma_walls_periodic"]
    form = Formulation.build(problem, small_settings.formulation)
    model = PINNModel(exact_networks_factory(problem, form), form)
    other = dataclasses.replace(problem, zeta_bottom=(_charge(0.2, -2.4),), zeta_top=(_charge(0.2, -2.4),))
    terms = loss_terms(other, model, points_off_the_walls(problem, small_settings))
    assert float(terms["wall_charge"]) == pytest.approx(4.0, rel=1e-5)


@pytest.mark.parametrize("psi_base, expected", [("gouy_chapman", "small"), ("linear", "large")])
def test_charge_walls_start_from_the_double_layer_of_their_grahame_zeta(psi_base, expected, small_settings,
                                                                        points_off_the_walls):
    """Zero networks (output gain 0): ψ = B_ζ of the Grahame ζ̂. Its Gouy–Chapman layer carries the
    wall charge (Grahame's relation), so at ε = 0.02 the wall_charge term starts near 0 instead of
    at σ̂² = 1e4; the linear blend of the same ζ̂ carries no charge (term ≈ σ̂²)."""
    import torch

    from eofpinn.solvers.pinn.formulation import build_model

    problem = _charged(0.02, _charge(0.02, -2.0), _charge(0.02, -2.0))
    settings = replace(small_settings, {"network.output_gain": 0.0, "formulation.psi_base": psi_base})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).to(torch.float64)
    assert model.formulation.walls is not None and not model.formulation.hard_psi
    terms = loss_terms(problem, model, points_off_the_walls(problem, settings))
    sigma_squared = (2.0 / 0.02) ** 2
    if expected == "small":
        assert float(terms["wall_charge"].detach()) < 1e-6 * sigma_squared
    else:
        assert float(terms["wall_charge"].detach()) > 0.9 * sigma_squared
