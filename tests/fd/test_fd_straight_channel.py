"""Straight channels against the exact solution of physics.md §4 at the default y grid.

The exact solution has no x dependence and the scheme reproduces that exactly (uniform c±
and a constant field give exact SG fluxes along x), so nx = 8 stands in for the default nx;
ny and wall_stretch are the FDSettings defaults (ny = 162, β = 3). Measured max relative
errors (max |FD − exact| / max |exact| over the output nodes, worst field in brackets):
  ε = 0.1,  ζ̂ = 1: 4.3e-5 (p)     ε = 0.1,  ζ̂ = 4: 7.2e-5 (c₊)
  ε = 0.02, ζ̂ = 1: 4.9e-5 (p)     ε = 0.02, ζ̂ = 4: 6.2e-5 (c₊)
"""

from pathlib import Path

import numpy as np
import pytest

from eofpinn.cases import FDSettings, case_from_problem, load_case, straight_problem
from eofpinn.physics.exact import exact_fields
from eofpinn.solution import FIELD_NAMES
from eofpinn.solvers.fd import solve_fd

CASES_DIR = Path(__file__).resolve().parents[2] / "cases"


def max_relative_errors(solution) -> dict[str, float]:
    x, y = solution.mesh
    exact = exact_fields(solution.case.problem, x, y)
    return {name: float(np.max(np.abs(solution[name] - exact[name])) / max(np.max(np.abs(exact[name])), 1e-300))
            for name in FIELD_NAMES if np.max(np.abs(exact[name])) > 0}


@pytest.mark.parametrize("debye_ratio", [0.1, 0.02])
@pytest.mark.parametrize("zeta", [1.0, -4.0])
def test_matches_exact_solution_at_default_ny(debye_ratio, zeta):
    problem = straight_problem(debye_ratio, zeta, field_hat=1.0)
    solution = solve_fd(case_from_problem(problem), nx=8)
    assert solution.info["converged"] and solution.y.size == FDSettings().ny
    errors = max_relative_errors(solution)
    assert max(errors.values()) <= 1e-4, errors
    assert np.max(np.abs(solution["v"])) < 1e-12


def test_pressure_driven_and_electroosmotic_flow():
    """Imposed Δp̂ with periodic ends: the Poiseuille part and the linear pressure are exact."""
    problem = straight_problem(0.05, -2.0, field_hat=0.5, length_ratio=2.0, pressure_drop_hat=3.0, peclet=5.0)
    solution = solve_fd(case_from_problem(problem), nx=9)
    errors = max_relative_errors(solution)
    assert max(errors.values()) <= 1e-4, errors


def test_paper_case_file_reproduces_exact_profile():
    """cases/paper_eof.toml: paper model, Boltzmann wall ions, reservoir ends."""
    case = load_case(CASES_DIR / "paper_eof.toml")
    solution = solve_fd(case, nx=9)
    errors = max_relative_errors(solution)
    assert max(errors.values()) <= 1e-4, errors
    assert solution.info["continuation_steps"] == 0
