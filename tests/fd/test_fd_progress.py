"""What the FD solver reports while it runs (through `progress`, never print), and grid sequencing
on grids that cannot be halved."""

import re
import warnings

from eofpinn.cases import FDSettings, case_from_problem, straight_problem
from eofpinn.solvers.fd import solve_fd


def test_progress_names_every_grid_level_with_elapsed_time():
    lines = []
    case = case_from_problem(straight_problem(0.1, 1.0), fd=FDSettings(nx=65, ny=82))  # 5120 cells: sequenced
    solution = solve_fd(case, progress=lines.append)
    assert solution.info["coarse_grids"] == [(33, 42)]
    time = r"^ *\d+\.\d s  "
    assert re.match(time + r"\[33x42\] [\d,]+ unknowns, Newton from the 1D Poisson–Boltzmann profile$", lines[0])
    starts = [i for i, line in enumerate(lines) if "unknowns, Newton from" in line]
    assert len(starts) == 2
    assert re.match(time + r"\[65x82\] [\d,]+ unknowns, Newton from the \[33x42\] solution$", lines[starts[1]])
    newton = [line for line in lines if " Newton 1: " in line]
    assert len(newton) == 2 and all(re.match(time + r"\[\d+x\d+\] Newton 1: residual \d\.\d{3}e[-+]\d\d, step ", line)
                                    for line in newton)
    assert len(lines) == 2 + solution.info["newton_iterations"] + solution.info["coarse_newton_iterations"]


def test_a_grid_too_thin_to_halve_is_solved_without_sequencing():
    """1025 × 8 nodes lie above the sequencing threshold (4096 cells), but half of them,
    513 × 5, is no grid: solve directly (this raised 'FD grid too small' before)."""
    case = case_from_problem(straight_problem(0.2, 1.0), fd=FDSettings(nx=1025, ny=8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ny = 8 resolves the layer coarsely: warned, not the point here
        solution = solve_fd(case)
    assert solution.info["coarse_grids"] == [] and solution["u"].shape == (1025, 8)
