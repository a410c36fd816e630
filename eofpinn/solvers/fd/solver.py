"""Entry points of the FD reference solver: `solve_fd` (a Case → Solution) and `solve_system`.

`solve_system` solves the discrete problem on a given grid, with optional manufactured
sources and boundary data (the MMS tests use it), by damped Newton from the local
fully developed profile; when the direct start fails it continues in the wall potentials,
ζ̂ → s ζ̂ for s = 1/k, 2/k, …, 1, halving a stage that fails. Grids above 4096 cells start
from the prolonged solution of a grid with half the cells each way (grid sequencing).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from eofpinn.cases import with_field
from eofpinn.cases.model import Case, FDSettings, Problem
from eofpinn.errors import SolverError
from eofpinn.solution import Solution
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.diagnostics import conservation_summary
from eofpinn.solvers.fd.grid import (
    MIN_CELLS_PER_DEBYE,
    MIN_NX,
    MIN_NY,
    StaggeredGrid,
    cells_within_debye_length,
    ny_needed,
)
from eofpinn.solvers.fd.initial import initial_guess
from eofpinn.solvers.fd.layout import Layout
from eofpinn.solvers.fd.newton import newton
from eofpinn.solvers.fd.output import node_fields
from eofpinn.solvers.fd.prolong import coarser, prolong
from eofpinn.solvers.fd.residual import DiscreteProblem

SCHEME = "fd-mac-sg-newton"
SCHEME_DESCRIPTION = (
    "conservative finite volumes on a staggered (MAC) grid, tanh wall-clustered in y; "
    "Scharfetter-Gummel ion fluxes (diffusion+migration+advection); excess-pressure Stokes; "
    "inexact Newton with the exact sparse Jacobian (stencil forward-mode AD), SuperLU + GMRES"
)
AUTO_CONTINUATION_STAGES = 4
SEQUENCING_MIN_CELLS = 4096
MAX_STAGES = 32


@dataclass
class SystemSolution:
    """The converged unknowns of one discrete solve and how they were reached."""

    dp: DiscreteProblem
    boundary: BoundaryData
    z: np.ndarray
    newton_iterations: int = 0
    residual_history: list[float] = field(default_factory=list)
    continuation_steps: int = 0
    jacobian_s: float = 0.0
    linear_solve_s: float = 0.0
    factorisations: int = 0
    krylov_iterations: int = 0
    coarse_grids: list[tuple[int, int]] = field(default_factory=list)
    coarse_newton_iterations: int = 0

    @property
    def unknowns(self) -> dict:
        return self.dp.layout.unpack(self.z)


def make_layout(problem: Problem, grid: StaggeredGrid) -> Layout:
    return Layout(grid, pressure_gauge=grid.periodic, ion_gauge=not problem.fixes_ion_content,
                  open_circuit=problem.open_circuit)


def solve_system(
    problem: Problem,
    grid: StaggeredGrid,
    settings: FDSettings = FDSettings(),
    boundary: BoundaryData | None = None,
    sources: dict[str, np.ndarray] | None = None,
    initial: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> SystemSolution:
    """Solve the discrete system on `grid`; raises SolverError if Newton fails."""
    layout = make_layout(problem, grid)
    sequence = settings.grid_sequencing and boundary is None and sources is None and initial is None
    boundary = boundary or BoundaryData.from_problem(problem, grid)
    result = SystemSolution(DiscreteProblem.build(problem, layout, boundary, sources), boundary, initial)
    if sequence and grid.n * grid.m > SEQUENCING_MIN_CELLS and _can_coarsen(grid):
        try:
            return _sequenced(problem, grid, layout, result, settings, progress)
        except SolverError as err:
            if progress is not None:
                progress(f"{grid_label(grid)} Newton from the coarse-grid start failed ({err}); "
                         "starting from the 1D profile")
    if settings.continuation_steps == 0:
        try:
            start = "the given start" if initial is not None else "the 1D Poisson–Boltzmann profile"
            z0 = initial if initial is not None else initial_guess(problem, layout, boundary)
            return _stage(result, result.dp, z0, settings, progress, grid_label(grid), start)
        except SolverError as err:
            if progress is not None:
                progress(f"{grid_label(grid)} direct Newton failed ({err}); continuing in zeta")
    stages = settings.continuation_steps or AUTO_CONTINUATION_STAGES
    return _continuation(problem, layout, result, sources, stages, settings, progress)


def _can_coarsen(grid: StaggeredGrid) -> bool:
    """Whether half the cells each way still make a grid (a 2049 × 6 grid cannot halve in y)."""
    nx, ny = coarser(grid.nx, grid.m + 2)
    return nx >= MIN_NX and ny >= MIN_NY


def grid_label(grid: StaggeredGrid) -> str:
    """How progress lines name a grid level: nodes in x × nodes in y, e.g. "[129x130]"."""
    return f"[{grid.nx}x{grid.m + 2}]"


def _sequenced(problem, grid: StaggeredGrid, layout: Layout, result: SystemSolution, settings, progress):
    nx, ny = coarser(grid.nx, grid.m + 2)
    coarse_grid = StaggeredGrid.build(problem, nx, ny, settings.wall_stretch, settings.edge_stretch)
    if (grid.nx - 1) % 2 == 0:  # every other node of the given x grid, uniform or clustered: nested
        coarse_grid = dataclasses.replace(coarse_grid, x_nodes=grid.x_nodes[::2])
    coarse = solve_system(problem, coarse_grid, settings, progress=progress)
    z0 = prolong(problem, coarse.dp.layout, coarse.boundary, coarse.unknowns, layout)
    result.coarse_grids = coarse.coarse_grids + [(nx, ny)]
    result.coarse_newton_iterations = coarse.coarse_newton_iterations + coarse.newton_iterations
    result.continuation_steps = coarse.continuation_steps
    return _stage(result, result.dp, z0, settings, progress, grid_label(grid), f"the {grid_label(coarse_grid)} solution")


def _stage(result: SystemSolution, dp: DiscreteProblem, z0, settings: FDSettings, progress, label: str, start: str):
    """Newton on one grid level (or continuation stage) from z0; `start` says where z0 came from."""
    if progress is not None:
        progress(f"{label} {dp.layout.size:,} unknowns, Newton from {start}")
    outcome = newton(dp, z0, settings.max_newton, settings.tolerance, progress, f"{label} ")
    result.z = outcome.z
    result.newton_iterations += outcome.iterations
    result.residual_history += outcome.residual_history
    result.jacobian_s += outcome.jacobian_s
    result.linear_solve_s += outcome.linear_solve_s
    result.factorisations += outcome.factorisations
    result.krylov_iterations += outcome.krylov_iterations
    return result


def _continuation(problem, layout, result: SystemSolution, sources, stages: int, settings, progress):
    boundary = result.boundary
    factors = list(np.linspace(1.0 / stages, 1.0, stages))
    done, z, tried = 0.0, None, 0
    while factors:
        factor = factors[0]
        tried += 1
        scaled = boundary.scaled_zeta(factor)
        dp = DiscreteProblem.build(problem, layout, scaled, sources)
        z0 = z if z is not None else initial_guess(problem, layout, scaled)
        start = "the previous stage" if z is not None else "the 1D Poisson–Boltzmann profile"
        try:
            _stage(result, dp, z0, settings, progress, f"{grid_label(layout.grid)} zeta x {factor:.3f}", start)
        except SolverError as err:
            if tried >= MAX_STAGES or factor - done < 1e-3:
                raise SolverError(f"{err} (zeta continuation stalled at {factor:.3f} of the wall potentials)") from err
            factors.insert(0, 0.5 * (done + factor))
            continue
        z, done = result.z, factors.pop(0)
        result.continuation_steps += 1
    result.dp = DiscreteProblem.build(problem, layout, boundary, sources)
    return result


def grid_warnings(problem: Problem, grid: StaggeredGrid, settings: FDSettings) -> list[str]:
    cells = cells_within_debye_length(grid.m, settings.wall_stretch, problem.debye_ratio)
    if cells >= MIN_CELLS_PER_DEBYE:
        return []
    needed = ny_needed(problem.debye_ratio, settings.wall_stretch)
    return [
        f"FD grid too coarse for the double layer: {cells:.1f} cells within one Debye length "
        f"(ε = {problem.debye_ratio:g}) of the wall, need at least {MIN_CELLS_PER_DEBYE}; "
        f"use ny >= {needed} (wall_stretch = {settings.wall_stretch:g})"
    ]


def _timed(progress: Callable[[str], None] | None, tic: float) -> Callable[[str], None] | None:
    """`progress` with the seconds since `tic` in front of every line."""
    if progress is None:
        return None
    return lambda line: progress(f"{time.perf_counter() - tic:6.1f} s  {line}")


def solve_fd(
    case: Case,
    nx: int | None = None,
    ny: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Solution:
    """Solve `case` with the finite-volume reference solver (grid defaults from case.fd).

    Returns a `Solution` on x nodes 0 … ℓ (nx) × y = walls and cell centres (ny). Raises
    `SolverError` when Newton (with continuation) does not converge; warns when the grid
    resolves the double layer with fewer than 3 cells. `progress` receives one line per grid
    level (or continuation stage) as it starts and one per Newton step — seconds since the
    start, the grid, the iteration, the scaled residual norm, the step and the damping; it
    never prints itself.
    """
    tic = time.perf_counter()
    settings, problem = case.fd, case.problem
    nx, ny = nx or settings.nx, ny or settings.ny
    grid = StaggeredGrid.build(problem, nx, ny, settings.wall_stretch, settings.edge_stretch)
    notes = grid_warnings(problem, grid, settings)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    system = solve_system(problem, grid, settings, progress=_timed(progress, tic))
    if problem.open_circuit:  # the solved field Ê of zero net current (physics.md §7)
        case = with_field(case, float(system.unknowns["field_hat"]))
        problem = case.problem
    fields = node_fields(problem, system.dp.layout, system.boundary, system.unknowns)
    info = {
        "scheme": SCHEME,
        "scheme_description": SCHEME_DESCRIPTION,
        "newton_iterations": system.newton_iterations,
        "residual_history": [float(r) for r in system.residual_history],
        "time_s": time.perf_counter() - tic,
        "jacobian_time_s": system.jacobian_s,
        "linear_solve_time_s": system.linear_solve_s,
        "lu_factorisations": system.factorisations,
        "gmres_iterations": system.krylov_iterations,
        "grid": (nx, ny),
        "unknowns": system.dp.layout.size,
        "wall_stretch": settings.wall_stretch,
        "edge_stretch": settings.edge_stretch,
        "converged": True,
        "continuation_steps": system.continuation_steps,
        "coarse_grids": system.coarse_grids,
        "coarse_newton_iterations": system.coarse_newton_iterations,
        "conservation": conservation_summary(system.dp, system.z),
        "warnings": notes,
    }
    if problem.open_circuit:
        info["open_circuit_field_hat"] = problem.field_hat
    return Solution(case=case, x=grid.x_nodes, y=grid.y_nodes, fields=fields, solver="fd", info=info)
