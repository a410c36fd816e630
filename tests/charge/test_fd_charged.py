"""The FD solver with charge walls, z₊:z₋ salts and open circuits (issue 13 (c), (e)): the
Jacobian, manufactured solutions (second order with a charge wall), the straight channel
against the exact solution, Gauss's law to round-off and the open-circuit field."""

import dataclasses

import numpy as np
import pytest

from eofpinn import solve
from eofpinn.cases import ChargeSegment, FDSettings, Problem, ZetaSegment, case_from_problem, straight_problem
from eofpinn.physics.electrolyte import grahame_zeta
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.grid import StaggeredGrid
from eofpinn.solvers.fd.initial import initial_guess
from eofpinn.solvers.fd.jacobian import JacobianAssembler
from eofpinn.solvers.fd.residual import DiscreteProblem
from eofpinn.solvers.fd.solver import make_layout, solve_system
from eofpinn.validation.compare import field_errors
from eofpinn.verification.jacobians import central_difference_jacobian
from eofpinn.verification.manufactured import FIELDS, charge_configurations


def charge(eps, a, b, sigma_hat, valences=(1.0, -1.0)):
    return ChargeSegment(a, b, grahame_zeta(sigma_hat * eps, *valences), sigma_hat)


EPS = 0.2
PATTERN = (ZetaSegment(0.0, 1.0, -1.0), charge(EPS, 1.0, 2.0, -12.0, (2.0, -1.0)))
BASE = Problem(EPS, 2.0, 0.7, PATTERN, (charge(EPS, 0.0, 2.0, 6.0, (2.0, -1.0)),), pressure_drop_hat=0.3,
               peclet=2.0, reynolds=3.0, delta_plus=1.2, delta_minus=0.8, inertia=True, valence_plus=2.0,
               valence_minus=-1.0)
VARIANTS = {
    "periodic_noflux": BASE,
    "periodic_boltzmann": dataclasses.replace(BASE, ion_wall="boltzmann"),
    "reservoir_noflux": dataclasses.replace(BASE, ends="reservoir"),
    "periodic_open_circuit": dataclasses.replace(BASE, open_circuit=True),
    "reservoir_boltzmann_open_circuit": dataclasses.replace(BASE, ends="reservoir", ion_wall="boltzmann",
                                                            open_circuit=True),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_jacobian_matches_central_differences(name):
    """Charge faces (and a ζ face beside them), ẑ = 2, −1, and the open circuit's field column
    and zero-current row: every column of the stencil-AD Jacobian against central differences."""
    problem = VARIANTS[name]
    grid = StaggeredGrid.build(problem, 7, 9, 2.0)
    layout = make_layout(problem, grid)
    boundary = BoundaryData.from_problem(problem, grid)
    z = initial_guess(problem, layout, boundary)
    z = z + 0.1 * np.random.default_rng(7).standard_normal(z.size) * np.clip(np.abs(z), 0.1, None)
    dp = DiscreteProblem.build(problem, layout, boundary)
    assert boundary.charged and layout.open_circuit == problem.open_circuit
    _, jac = JacobianAssembler(layout.size)(dp, z)
    dense, differences = jac.toarray(), central_difference_jacobian(dp, z)
    for col in range(layout.size):
        column = differences[:, col]
        assert np.max(np.abs(column - dense[:, col])) < 1e-6 * max(1.0, np.max(np.abs(column))), col


@pytest.mark.parametrize("name", sorted(charge_configurations()))
def test_manufactured_solution_second_order_with_a_charge_wall(name):
    """Measured max-norm orders 64² vs 32² (this machine): periodic, 2:1 salt, charge bottom wall:
    ψ 2.00, c₊ 2.00, c₋ 2.00, u 2.00, v 2.01, P 1.98; reservoir, 1:2 salt, charge walls, Boltzmann
    ions: ψ 2.01, c₊ 2.00, c₋ 1.99, u 2.00, v 1.99, P 1.97."""
    manufactured = charge_configurations()[name]
    errors = [manufactured.solve(cells + 1, cells + 2)[1] for cells in (16, 32, 64)]
    for field in FIELDS:
        order = np.log2(errors[1][field] / errors[2][field])
        assert 1.85 <= order <= 2.15, (field, order, errors)
        assert errors[-1][field] < 1e-2, (field, errors[-1][field])


def straight(eps, bottom, top, valences=(1.0, -1.0), **options):
    defaults = dict(field_hat=1.0, length_ratio=2.0, peclet=0.5, pressure_drop_hat=5.0, delta_plus=0.8,
                    delta_minus=1.2)
    problem = straight_problem(eps, 0.0, **{**defaults, **options})
    return dataclasses.replace(problem, zeta_bottom=(bottom,), zeta_top=(top,), valence_plus=valences[0],
                               valence_minus=valences[1])


STRAIGHT = {
    # name: (ε, bottom, top, valences, options)
    "sigma_walls": (0.1, charge(0.1, 0, 2, -30.0), charge(0.1, 0, 2, -30.0), (1.0, -1.0), {}),
    "mixed_walls": (0.1, ZetaSegment(0, 2, -2.0), charge(0.1, 0, 2, 10.0), (1.0, -1.0), {}),
    "cacl2_sigma_walls": (0.05, charge(0.05, 0, 2, -60.0, (2.0, -1.0)), charge(0.05, 0, 2, -60.0, (2.0, -1.0)),
                          (2.0, -1.0), {}),
    "cacl2_zeta_walls": (0.1, ZetaSegment(0, 2, -2.0), ZetaSegment(0, 2, -2.0), (2.0, -1.0), {}),
    "sigma_reservoir_boltzmann": (0.1, charge(0.1, 0, 2, -30.0), charge(0.1, 0, 2, -30.0), (1.0, -1.0),
                                  dict(ends="reservoir", ion_wall="boltzmann")),
}


@pytest.mark.parametrize("name", sorted(STRAIGHT))
def test_straight_channel_matches_the_exact_solution(name):
    """FD (9 × 322: 320 cells across, β = 3) against physics.md §4/§7; mean relative L2 over
    (φ, c₊, c₋, u) ≤ 1e-4 (measured 6.4e-5 … 7.6e-5 with charge walls, 1.5e-5 with ζ walls; on
    the default 162 nodes across it is 2.5e-4 with charge walls: the wall potential, an output,
    takes the O(h²) error of the layer's charge integral, second order)."""
    eps, bottom, top, valences, options = STRAIGHT[name]
    case = case_from_problem(straight(eps, bottom, top, valences, **options))
    fd, exact = solve(case, "fd", nx=9, ny=322), solve(case, "exact", nx=9, ny=401)
    errors = field_errors(fd, exact)
    assert errors["paper_mean"]["relative_l2"] < 1e-4, errors
    for field in ("phi", "psi", "c_plus", "c_minus", "u", "p"):
        assert errors[field]["max_error"] < 3e-4, (field, errors[field])


def test_gauss_law_holds_to_round_off_with_charge_walls():
    """Summing the discrete Poisson rows: the fluid charge Σ (c₊ − c₋)/(ẑ₊ − ẑ₋) ΔxΔy equals
    −ε² Σ (σ̂_bottom + σ̂_top) Δx, the wall charges imposed (periodic ends, a ζ|σ pattern)."""
    problem = dataclasses.replace(BASE, zeta_bottom=(charge(EPS, 0, 1, -12.0, (2.0, -1.0)),
                                                     charge(EPS, 1, 2, -4.0, (2.0, -1.0))), inertia=False)
    grid = StaggeredGrid.build(problem, 33, 42, 3.0)
    system = solve_system(problem, grid, FDSettings())
    f, b = system.unknowns, system.boundary
    fluid = np.sum((f["c_plus"] - f["c_minus"]) / problem.valence_span * grid.dx[:, None] * grid.dy[None, :])
    walls = -problem.debye_ratio**2 * np.sum((b.charge_bottom + b.charge_top) * grid.dx)
    assert fluid == pytest.approx(walls, rel=1e-11)


def test_open_circuit_field_matches_the_exact_streaming_field():
    """A pressure-driven σ-wall channel at zero net current: FD's Ê (the bordered unknown) against
    the exact −(Î per Δp̂) Δp̂/(Î per Ê); the current through every face column vanishes."""
    problem = straight(0.1, charge(0.1, 0, 2, -30.0), charge(0.1, 0, 2, -30.0), field_hat=0.0, pressure_drop_hat=50.0,
                       open_circuit=True)
    case = case_from_problem(problem)
    fd, exact = solve(case, "fd", nx=9, ny=322), solve(case, "exact", nx=9, ny=401)
    assert fd.case.problem.field_hat == pytest.approx(exact.case.problem.field_hat, rel=1e-4)
    conservation = fd.info["conservation"]
    assert abs(conservation["current"]) < 1e-12 * abs(conservation["ion_flux_c_plus"])
    assert conservation["current_spread"] < 1e-12
    np.testing.assert_allclose(fd["phi"][:, 0] - fd["psi"][:, 0],
                               fd.case.problem.field_hat * (2.0 - fd.x), rtol=0, atol=1e-14)
