"""`eofpinn validate`'s balances on FD runs: the scheme conserves its own fluxes to ~1e-12, so
what `balances` reports there is the measure's artefact plus the output grid's interpolation.

Measured (eofpinn/validation/compare.py docstring): cases/zeta_step.toml on 41 × 42 nodes,
ion-flux spreads 1.4e-4 / 1.5e-4, charge 7.6e-5; cases/patterned_zeta.toml on 161 × 42 nodes
(periodic ends: its output nodes interpolate between cells, an O(h²) error in x, so it needs
the case's own 161 x nodes), 7.1e-4 / 5.6e-4, charge 3.3e-5. Before (trapezoidal rule, c± and
φ differenced separately): ion-flux spreads 12 / 5.0 and 1.9 / 1.1, charge 1.3e-2 and 3.7e-4,
volume-flux spreads 2.1e-3 and 6.7e-4.
"""

import numpy as np
import pytest

from eofpinn import solve
from eofpinn.solution import Solution
from eofpinn.validation.compare import balances

GRIDS = {"zeta_step": (41, 42), "patterned_zeta": (161, 42)}


@pytest.fixture(scope="module", params=tuple(GRIDS))
def fd_run(request):
    nx, ny = GRIDS[request.param]
    return solve(request.param, "fd", nx=nx, ny=ny)


def test_fd_balances_are_below_1e3(fd_run):
    b = balances(fd_run)
    assert fd_run.info["conservation"]["ion_flux_spread_c_plus"] < 1e-10  # the scheme's own fluxes
    assert b["ion_flux_spread_c_plus"] <= 1e-3 and b["ion_flux_spread_c_minus"] <= 1e-3, b
    assert b["charge_balance"] <= 1e-3, b
    assert b["volume_flux_spread"] < 1e-12, b  # the midpoint rule over the FD's cells: exact
    assert b["ion_flux_mean_c_plus"] == pytest.approx(fd_run.info["conservation"]["ion_flux_c_plus"], rel=2e-3)


def test_a_perturbed_fd_field_raises_the_spreads(fd_run):
    X, Y = fd_run.mesh
    bump = 1e-3 * np.sin(2.0 * np.pi * X / fd_run.case.problem.length_ratio) * 4.0 * Y * (1.0 - Y)
    fields = dict(fd_run.fields, u=fd_run.fields["u"] + bump * np.max(np.abs(fd_run.fields["u"])),
                  c_plus=fd_run.fields["c_plus"] * (1.0 + bump))
    b = balances(Solution(fd_run.case, fd_run.x, fd_run.y, fields, "fd"))
    assert b["volume_flux_spread"] > 1e-3 and b["ion_flux_spread_c_plus"] > 3e-3, b


@pytest.mark.parametrize("valences", [(2.0, -1.0), (1.0, -2.0)])
def test_balances_of_a_2_1_salt_weigh_each_ion_by_its_valence(valences):
    """The balances of a z₊:z₋ salt: drift ẑ± c± ∇φ in each ion's flux and charge (c₊ − c₋)/Z.
    zeta_step with a 2:1 (1:2) salt, FD on 41 × 42 nodes: ion-flux spreads 9.5e-4 / 8.1e-4
    (8.4e-4 / 6.3e-4), charge 6.5e-5 (5.9e-5); with the z:z drift and (c₊ − c₋)/2 they were 15
    and 0.33. The exact straight channel of cacl2_channel: charge 5.8e-6 (0.33 before)."""
    import dataclasses

    from eofpinn.cases import case_from_problem, load_case

    problem = dataclasses.replace(load_case("zeta_step").problem, valence_plus=valences[0], valence_minus=valences[1])
    run = solve(case_from_problem(problem, name="zeta_step_asymmetric"), "fd", nx=41, ny=42)
    b = balances(run)
    assert b["ion_flux_spread_c_plus"] <= 2e-3 and b["ion_flux_spread_c_minus"] <= 2e-3, b
    assert b["charge_balance"] <= 2e-4, b
    for name in ("c_plus", "c_minus"):
        assert b[f"ion_flux_mean_{name}"] == pytest.approx(run.info["conservation"][f"ion_flux_{name}"], rel=2e-3)
    assert balances(solve("cacl2_channel", "exact"))["charge_balance"] <= 1e-4


def test_a_flow_that_cancels_across_the_channel_is_not_divided_by_its_net_flux():
    """Walls at ζ̂ and −ζ̂: u is odd about the centre line and Q = ∫u dy vanishes to rounding. The
    spread is relative to max(mean |Q|, mean ∫|u| dy) (the ion fluxes' scale); over mean |Q| alone
    this FD run, conserved to rounding, reported 0.20."""
    from eofpinn.cases import case_from_problem
    from eofpinn.cases.model import Problem, ZetaSegment
    from eofpinn.validation.compare import y_quadrature

    problem = Problem(debye_ratio=0.1, length_ratio=2.0, field_hat=1.0,
                      zeta_bottom=(ZetaSegment(0.0, 2.0, -1.95),), zeta_top=(ZetaSegment(0.0, 2.0, 1.95),))
    run = solve(case_from_problem(problem), "fd", nx=9, ny=64)
    u = run.fields["u"]
    assert np.max(np.abs(u)) > 0.5  # a real flow, ~ζ̂ near each wall ...
    assert abs(np.mean(u @ y_quadrature(run.y, finite_volume=True))) < 1e-12  # ... whose net flux is 0
    assert balances(run)["volume_flux_spread"] < 1e-12
