"""Patterned walls (periodic, ζ̂ = +1 / −1 patches, ε = 0.1): accuracy, recirculation,
conservation; and the ζ-step case between reservoirs.

Richardson: the default grid (64 × 160 cells) and the grids with half and a quarter of the
cells nest (every coarse node is a fine x node and a fine y face), so the fine solution is
brought to the coarse nodes (PCHIP across the channel) and the default grid's error is
estimated as ‖f_h − f_2h‖ / (2^p − 1) with the order p observed from the three grids.
Measured (relative L2, trapezoidal on the coarse nodes; observed order p in brackets, p is
clipped to [1, 3]), periodic x grid cell-centred with the patch edges on cell faces:
  φ 1.7e-3 (1.0), ψ 7.4e-3 (1.0), c₊ 2.8e-3 (1.0), c₋ 2.8e-3 (1.0), u 6.6e-4 (2.0),
  v 4.3e-3 (2.1), p 1.3e-2 (1.0)
(the vertex-centred x grid, with the edges on nodes and the edge wall cell holding the
two-patch mean, measured the same except u 3.3e-3: that datum was not the cause.)
The 1e-3 target is NOT met, and ψ, c±, p stay first order, because the exact solution is
singular at each patch edge: ψ jumps by Δζ̂ = 2 at the wall there, so near the corner
(r ≪ ε) ψ ≈ ζ̄ + (Δζ̂/π) θ, discontinuous at r = 0 with |∇ψ| ~ 1/r (not in H¹). No grid
function resolves r ≲ h, an O(1) error over an O(h²) area: O(h) in L2. Away from the edges
(distance > 0.15 from every edge corner) the same differences converge at second order
(ψ 1.9, c± 1.8, p 1.8, u 2.0, v 2.1), checked below. Reaching 1e-3 in the full L2 needs a
singularity treatment (corner refinement, or subtracting the θ-singular part) or a smoothed ζ̂ step.
"""

from pathlib import Path

import numpy as np
import pytest

from eofpinn.cases import FDSettings, Problem, ZetaSegment, case_from_problem, load_case
from eofpinn.physics.exact import osmotic_pressure
from eofpinn.solution import FIELD_NAMES
from eofpinn.solvers.fd import solve_fd
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.diagnostics import cross_section_fluxes, divergence, face_flux_scale
from eofpinn.solvers.fd.grid import StaggeredGrid
from eofpinn.solvers.fd.solver import make_layout, solve_system
from eofpinn.verification.fd_convergence import near_zeta_jumps, refinement_grids, relative_difference, richardson

CASES_DIR = Path(__file__).resolve().parents[2] / "cases"
PATCHES = (ZetaSegment(0.0, 1.0, 1.0), ZetaSegment(1.0, 2.0, -1.0))
PROBLEM = Problem(debye_ratio=0.1, length_ratio=2.0, field_hat=1.0, zeta_bottom=PATCHES, zeta_top=PATCHES)


@pytest.fixture(scope="module")
def solutions():
    default = FDSettings()
    case = case_from_problem(PROBLEM)
    return [solve_fd(case, nx=nx, ny=ny) for nx, ny in refinement_grids(default.nx, default.ny)]


def test_second_order_away_from_the_patch_edges(solutions):
    quarter, half, default = solutions
    orders = {}
    for name in ("psi", "c_plus", "c_minus", "u", "v", "p"):
        diffs = []
        for fine, coarse in ((half, quarter), (default, half)):
            diffs.append(relative_difference(fine, coarse, name, exclude=near_zeta_jumps(coarse, radius=0.15)))
        orders[name] = float(np.log2(diffs[0] / diffs[1]))
    print("orders away from the edges:", {k: f"{p:.2f}" for k, p in orders.items()})
    assert all(p > 1.65 for p in orders.values()), orders


def test_richardson_error_of_default_grid(solutions):
    quarter, half, default = solutions
    estimates = {}
    for name in FIELD_NAMES:
        estimate = richardson([relative_difference(half, quarter, name), relative_difference(default, half, name)])
        estimates[name] = (estimate["error"], estimate["order"])
    print("Richardson (error, order):", {k: (f"{e:.1e}", f"{p:.2f}") for k, (e, p) in estimates.items()})
    for name, (error, _) in estimates.items():
        assert error <= 2e-2, (name, estimates)
    assert estimates["u"][0] <= 1e-3 and estimates["v"][0] <= 6e-3
    assert estimates["u"][1] > 1.7 and estimates["v"][1] > 1.7  # the flow converges at second order


def test_recirculation_over_the_patches(solutions):
    solution = solutions[-1]
    near_wall = solution.y < 0.1
    over_positive = solution.x < 1.0  # ζ̂ = +1: slip −ζ̂Ê < 0
    u = solution["u"]
    assert np.min(u[np.ix_(over_positive & (solution.x > 0.2), near_wall)]) < -0.1
    assert np.max(u[np.ix_(~over_positive & (solution.x < 1.8), near_wall)]) > 0.1
    assert np.max(np.abs(solution["v"])) > 1e-3  # genuinely 2D
    # Output grid spans the channel; x = ℓ repeats x = 0 for periodic ends.
    assert solution.x[0] == 0.0 and solution.x[-1] == PROBLEM.length_ratio
    np.testing.assert_array_equal(solution["u"][0], solution["u"][-1])


def test_conservation_patterned(solutions):
    conservation = solutions[-1].info["conservation"]
    assert conservation["ion_flux_spread_c_plus"] < 1e-8
    assert conservation["ion_flux_spread_c_minus"] < 1e-8
    # Round-off relative to the largest face volume flux (measured ≈ 1 ε_machine).
    assert conservation["max_cell_mass_imbalance_relative"] < 64 * np.finfo(float).eps


def test_conservation_zeta_step_between_reservoirs():
    case = load_case(CASES_DIR / "zeta_step.toml")
    problem = case.problem
    grid = StaggeredGrid.build(problem, 65, 82, case.fd.wall_stretch)
    system = solve_system(problem, grid, case.fd)
    fluxes = cross_section_fluxes(system.dp, system.z)
    for name in ("c_plus", "c_minus", "volume"):
        flux = fluxes[name]
        assert np.ptp(flux) <= 1e-8 * np.max(np.abs(flux)), name
    area = grid.hx * grid.dy[None, :]
    div = divergence(system.dp, system.z) * area
    # Round-off relative to the largest face volume flux (measured 0.6 ε_machine per cell).
    scale = face_flux_scale(system.dp, system.z)
    assert np.max(np.abs(div)) < 64 * np.finfo(float).eps * scale
    assert abs(div.sum()) < 64 * np.finfo(float).eps * scale * div.size**0.5
    # The induced pressure p = P + Π peaks at the ζ step (x = ℓ/2). (The excess pressure P has
    # a minimum there: salt accumulates at the step by ~3 %, concentration polarisation.)
    f = system.unknowns
    pressure = (f["P"] + osmotic_pressure(problem, f["c_plus"], f["c_minus"]))[:, grid.m // 2]
    assert abs(grid.x_unknown[np.argmax(pressure)] - problem.length_ratio / 2) < 0.1 * problem.length_ratio
    assert not make_layout(problem, grid).multipliers and BoundaryData.from_problem(problem, grid).inlet is not None
