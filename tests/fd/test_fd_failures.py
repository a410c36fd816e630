"""What the FD solver says when it cannot deliver: non-convergence and unresolved layers."""

import warnings

import pytest

from eofpinn.cases import FDSettings, case_from_problem, straight_problem
from eofpinn.errors import SolverError
from eofpinn.solvers.fd import solve_fd
from eofpinn.solvers.fd.grid import ny_needed


def test_non_convergence_raises_with_residual_and_iterations():
    problem = straight_problem(0.1, -3.0, field_hat=1.0, pressure_drop_hat=1.0)
    case = case_from_problem(problem, fd=FDSettings(nx=9, ny=24, max_newton=1, continuation_steps=2))
    with pytest.raises(SolverError) as info:
        solve_fd(case)
    message = str(info.value)
    assert "FD Newton did not converge after 1 iterations" in message
    assert "last scaled residual norm" in message and "zeta continuation stalled" in message


def test_coarse_grid_warning_names_the_ny_needed():
    problem = straight_problem(0.005, 1.0, field_hat=1.0)
    case = case_from_problem(problem, fd=FDSettings(nx=6, ny=20))
    needed = ny_needed(0.005, case.fd.wall_stretch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        solution = solve_fd(case)
    texts = [str(w.message) for w in caught if "FD grid too coarse" in str(w.message)]
    assert texts and f"use ny >= {needed}" in texts[0] and "ε = 0.005" in texts[0]
    assert solution.info["warnings"] == texts[:1]
    assert cells_ok(needed)


def cells_ok(ny: int) -> bool:
    from eofpinn.solvers.fd.grid import cells_within_debye_length

    return cells_within_debye_length(ny - 2, FDSettings().wall_stretch, 0.005) >= 3
