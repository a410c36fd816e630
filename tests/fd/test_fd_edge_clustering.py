"""x grid clustered towards the ζ̂ jumps ([fd] edge_stretch, solvers/fd/grid.py).

The map x(s) of a uniform s is fixed, so halving the cells keeps every other node (grid
sequencing and Richardson studies nest) and the patch edges stay on nodes (periodic: cell
faces). The scheme on such a grid: exact Jacobian (central differences), discrete
conservation, and, on the patterned case with sharp jumps, smaller whole-channel Richardson
errors than the uniform grid. Measured (relative L2, whole channel, grids 17 × 42, 33 × 82, 65 × 162;
error of the finest, observed order in brackets):
  uniform  ψ 7.2e-3 (0.72), c₊ 5.5e-3 (0.42), c₋ 3.7e-3 (0.64), u 2.5e-4 (2.12), v 4.2e-3 (2.06), p 1.2e-2 (0.38)
  β = 2    ψ 3.0e-3 (1.65), c₊ 2.4e-3 (1.48), c₋ 1.5e-3 (1.58), u 5.3e-4 (1.98), v 2.9e-3 (1.87), p 5.1e-3 (1.44)
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from eofpinn.cases import load_case
from eofpinn.errors import CaseError
from eofpinn.solvers.fd import solve_fd
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.grid import StaggeredGrid, edge_clustered_nodes, zeta_edges
from eofpinn.solvers.fd.initial import initial_guess
from eofpinn.solvers.fd.jacobian import JacobianAssembler
from eofpinn.verification.jacobians import central_difference_jacobian
from eofpinn.solvers.fd.residual import DiscreteProblem
from eofpinn.solvers.fd.solver import make_layout
from eofpinn.verification.fd_convergence import patterned_study, refinement_grids

CASES = Path(__file__).resolve().parents[2] / "cases"
PATTERNED = load_case(CASES / "patterned_zeta.toml")


def _with_stretch(case, beta):
    return dataclasses.replace(case, fd=dataclasses.replace(case.fd, edge_stretch=beta))


def test_nodes_nest_keep_the_edges_and_refine_there():
    problem = PATTERNED.problem
    edges = zeta_edges(problem)
    assert list(edges) == [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(edge_clustered_nodes(2.0, 16, edges, 0.0), np.linspace(0.0, 2.0, 17))
    fine = StaggeredGrid.build(problem, 65, 22, 3.0, 2.0)
    coarse = StaggeredGrid.build(problem, 33, 22, 3.0, 2.0)
    np.testing.assert_array_equal(fine.x_nodes[::2], coarse.x_nodes)
    assert set(edges) <= set(fine.x_nodes.tolist())  # periodic: every edge is a cell face
    beta = 2.0
    first = beta / np.cosh(beta) ** 2 / np.tanh(beta) * fine.hx
    assert fine.dx[0] == pytest.approx(first, rel=0.15) and fine.dx[31] == pytest.approx(first, rel=0.15)
    assert np.max(fine.dx) > 5 * np.min(fine.dx)
    assert np.max(np.abs(np.diff(np.log(fine.dx)))) < 0.3  # smooth: neighbouring widths within 30 % (O(h))
    np.testing.assert_allclose(fine.dx.sum(), problem.length_ratio)


@pytest.mark.parametrize("value, message", [
    ("7.0", "[fd.edge_stretch] must lie in [0, 5]; got 7.0 (tanh clustering β of the x grid at the zeta jumps, "
            "0 = uniform, 2-3 = strong; default 0.0)"),
    ("-1.0", "[fd.edge_stretch] must lie in [0, 5]; got -1.0 (tanh clustering β of the x grid at the zeta jumps, "
             "0 = uniform, 2-3 = strong; default 0.0)"),
])
def test_case_file_rejects_a_bad_edge_stretch(tmp_path, value, message):
    text = (CASES / "patterned_zeta.toml").read_text().replace("edge_stretch = 2.5", f"edge_stretch = {value}")
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(CaseError) as info:
        load_case(bad)
    assert str(info.value) == f"{bad}: {message}"


@pytest.mark.parametrize("ends", ["periodic", "reservoir"])
def test_jacobian_on_a_clustered_grid(ends):
    problem = dataclasses.replace(PATTERNED.problem, ends=ends, peclet=2.0, reynolds=3.0, inertia=True)
    grid = StaggeredGrid.build(problem, 7, 9, 2.0, 2.0)
    assert np.ptp(grid.dx) > 0.1 * grid.hx
    layout = make_layout(problem, grid)
    boundary = BoundaryData.from_problem(problem, grid)
    z = initial_guess(problem, layout, boundary)
    z = z + 0.1 * np.random.default_rng(3).standard_normal(z.size) * np.clip(np.abs(z), 0.1, None)
    dp = DiscreteProblem.build(problem, layout, boundary)
    dense = JacobianAssembler(layout.size)(dp, z)[1].toarray()
    differences = central_difference_jacobian(dp, z)
    for col in range(layout.size):
        column = differences[:, col]
        assert np.max(np.abs(column - dense[:, col])) < 1e-6 * max(1.0, np.max(np.abs(column))), col


@pytest.fixture(scope="module")
def studies():
    """The corner-singularity study: the patterned case with sharp jumps ([walls] transition = 0),
    where the exact solution is singular at the corners that clustering refines."""
    sharp = dataclasses.replace(PATTERNED, problem=dataclasses.replace(PATTERNED.problem, zeta_transition=0.0))
    grids = refinement_grids(65, 162)
    return {beta: patterned_study(_with_stretch(sharp, beta), grids) for beta in (0.0, 2.0)}


def test_clustering_lowers_the_patterned_richardson_errors(studies):
    uniform, clustered = (studies[b]["fields"] for b in (0.0, 2.0))
    assert studies[2.0]["edge_stretch"] == 2.0
    for name in ("psi", "c_plus", "c_minus", "v", "p"):
        assert clustered[name]["whole"]["error"] < 0.7 * uniform[name]["whole"]["error"], name
        assert clustered[name]["whole"]["observed_order"] > 1.4, name  # uniform: 0.4-0.7 for ψ, c±, p
    bounds = {"psi": 3.5e-3, "phi": 3.5e-3, "c_plus": 2.8e-3, "c_minus": 1.8e-3, "u": 7e-4, "v": 3.3e-3, "p": 6e-3}
    for name, bound in bounds.items():
        assert clustered[name]["whole"]["error"] < bound, (name, clustered[name]["whole"])


def test_default_grid_of_the_patterned_case_is_within_1e_3_of_the_grid_limit():
    """The FD requirement: Richardson-estimated error of the case's default grid ≤ 1e-3
    (relative L2 over the whole channel, every field), recirculation included."""
    fd = PATTERNED.fd
    assert (fd.nx, fd.ny, fd.edge_stretch) == (161, 162, 2.5)
    study = patterned_study(PATTERNED, refinement_grids(fd.nx, fd.ny))
    assert study["grids"] == [[41, 42], [81, 82], [161, 162]]
    for name, result in study["fields"].items():
        assert result["whole"]["error"] <= 1e-3, (name, result["whole"])
        assert result["whole"]["observed_order"] > 1.7, (name, result["whole"])


def test_conservation_on_a_clustered_grid():
    solution = solve_fd(_with_stretch(PATTERNED, 2.0), nx=33, ny=82)
    conservation = solution.info["conservation"]
    assert solution.info["edge_stretch"] == 2.0
    assert conservation["ion_flux_spread_c_plus"] < 1e-8 and conservation["ion_flux_spread_c_minus"] < 1e-8
    # Round-off relative to the largest face volume flux (measured ≈ 1 ε_machine).
    assert conservation["max_cell_mass_imbalance_relative"] < 64 * np.finfo(float).eps
    np.testing.assert_array_equal(solution["u"][0], solution["u"][-1])
    assert solution.x[1] < 0.3 * PATTERNED.problem.length_ratio / 32  # the cells next to x = 0 are the fine ones
