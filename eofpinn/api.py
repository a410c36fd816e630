"""The public entry points: load a case, solve it with any solver, write the result.

    from eofpinn import load_case, solve, write

    case = load_case("patterned_zeta")    # a shipped case by name, or a path to a case file
    solution = solve(case)                # finite differences, the default: every case
    write(solution, "patterned.vts")      # ParaView; .npz (numpy) and .json (summary) too

`solve` is one call for the three solvers: "fd" (the default; any case), "exact" (straight
channels: one uniform ζ on both walls) and "pinn" (trains networks; torch is imported only
then). Options a solver does not take, and values outside the ranges of eofpinn/cases/ranges.py,
are refused with an `OptionError` before anything runs.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

from eofpinn.cases import Case, PINNSettings, load_case, with_settings
from eofpinn.cases.ranges import EXACT, FD, Key, fd_grid_violation
from eofpinn.errors import OptionError
from eofpinn.solution import Solution

SOLVERS = ("fd", "exact", "pinn")
DEFAULT_SOLVER = "fd"
# Shortcut options of the PINN → their dotted [pinn] keys (the CLI's flags of the same names).
PINN_SHORTCUTS = {"steps": "steps", "seed": "seed", "device": "device", "optimizer": "optimizer.name",
                  "weighting": "balancing.name"}
OPTIONS = {
    "fd": ("nx", "ny", "progress"),
    "exact": ("nx", "ny"),
    "pinn": ("reference", "resume", "out_dir", "progress", "settings", "stop", "init", *PINN_SHORTCUTS),
}


def solve(case: Case | str | Path, solver: str = DEFAULT_SOLVER, **options: Any) -> Solution:
    """Solve `case` with `solver` ("fd", "exact" or "pinn") and return the `Solution`:
    dimensionless fields on a tensor grid, the case, and solver information in `.info`.

    Options (each may be left out; None means the default):
      fd     nx, ny: grid nodes (default: the case's [fd] nx, ny);
             progress: a callable receiving one line per grid level and per Newton step.
      exact  nx, ny: grid nodes (default 41 × 201, clustered at the walls in y).
      pinn   settings: a PINNSettings, or {dotted [pinn] key: value} changes to the case's
             (e.g. {"network.width": 32, "optimizer.learning_rate": 1e-3}); the shortcuts
             steps, seed, device, optimizer (a registered optimiser) and weighting (a registered
             balancer); reference: a Solution, or a run directory, to measure errors against
             (default: the exact solution of a straight channel); resume: a run directory or
             checkpoint to continue; init: a run directory or checkpoint whose networks (and,
             with the same balancer, loss weights) start this run (a warm start); out_dir: where checkpoints, history.csv, snapshots and
             plots go (default: the resumed run's directory, else none: the run stays in
             memory); progress: show a progress bar (default True); stop: a threading.Event
             that stops the run at the next step boundary (checkpoint written when out_dir).

    Raises:
        CaseError: `case` is a path or name whose file is missing or invalid.
        OptionError: an unknown solver, an option the solver does not take, or a value out
            of its range (the same ranges as the case file's [fd] section).
        UnsupportedCaseError: the exact solver asked for a case with a zeta pattern.
        SolverError: no trustworthy result (Newton did not converge, the PINN loss became
            NaN or Inf, an unusable device or checkpoint).
    """
    if not isinstance(case, Case):
        case = load_case(case)
    if solver not in OPTIONS:
        raise OptionError("solver", f"{solver!r} is not a solver; choose one of {', '.join(SOLVERS)}")
    given = {name: value for name, value in options.items() if value is not None}
    for name in given:
        if name not in OPTIONS[solver]:
            raise OptionError(f"{solver} option {name}",
                              f"not an option of the {solver} solver; its options: {_listed(OPTIONS[solver])}")
    return {"fd": _solve_fd, "exact": _solve_exact, "pinn": _solve_pinn}[solver](case, **given)


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names) if len(names) < 8 else ", ".join(names[:4]) + " and any [pinn] setting"


def _grid_option(solver: str, name: str, value: Any, table: dict[str, Key], where: str) -> int:
    """`value` as an int if it lies in table[name]'s range; `where` says how else it is set."""
    spec = table[name]
    problem = spec.range.violation(value)
    if problem:
        raise OptionError(f"{solver} option {name}", f"{problem} ({spec.meaning}; {where})")
    return int(value)


def _solve_fd(case: Case, nx: int | None = None, ny: int | None = None,
              progress: Callable[[str], None] | None = None) -> Solution:
    from eofpinn.solvers.fd import solve_fd

    nx = case.fd.nx if nx is None else _grid_option("fd", "nx", nx, FD, "--nx or the case's [fd] nx")
    ny = case.fd.ny if ny is None else _grid_option("fd", "ny", ny, FD, "--ny or the case's [fd] ny")
    too_big = fd_grid_violation(nx, ny)
    if too_big:
        raise OptionError("fd option nx, ny", too_big)
    if progress is not None and not callable(progress):
        raise OptionError("fd option progress", f"must be a callable taking one line of text; got {progress!r}")
    return solve_fd(case, nx=nx, ny=ny, progress=progress)


def _solve_exact(case: Case, nx: int | None = None, ny: int | None = None) -> Solution:
    from eofpinn.solvers.exact import solve_exact

    nx = EXACT["nx"].default if nx is None else _grid_option("exact", "nx", nx, EXACT, "--nx, default 41")
    ny = EXACT["ny"].default if ny is None else _grid_option("exact", "ny", ny, EXACT, "--ny, default 201")
    return solve_exact(case, nx=nx, ny=ny)


def _refuse_unsupported_pinn_case(case: Case) -> None:
    """An open circuit needs the full model (the paper model's ion fluxes carry no current, so
    nothing fixes the PINN's trainable Ê): an UnsupportedCaseError rather than a silently
    different problem. (Case files refuse it when they load; a Problem built in code does not.)"""
    from eofpinn.errors import UnsupportedCaseError

    if case.problem.open_circuit and case.problem.paper_model:
        raise UnsupportedCaseError("an open circuit (current = 0) needs the full model: the paper model's ion "
                                   "fluxes carry no current, so nothing fixes the field; use equations = \"full\"")


def _solve_pinn(case: Case, settings: PINNSettings | Mapping[str, Any] | None = None,
                reference: Solution | str | Path | None = None, resume: str | Path | None = None,
                out_dir: str | Path | None = None, progress: bool = True, stop: threading.Event | None = None,
                init: str | Path | None = None, **shortcuts: Any) -> Solution:
    from eofpinn.io import read_run
    from eofpinn.pinn_runs import load_checkpoint, run_in_directory
    from eofpinn.solvers.pinn import solve_pinn

    _refuse_unsupported_pinn_case(case)

    changes = {PINN_SHORTCUTS[name]: value for name, value in shortcuts.items()}
    if isinstance(settings, PINNSettings):
        case = dataclasses.replace(case, pinn=settings)
    elif settings is not None:
        changes = {**settings, **changes}
    case = with_settings(case, changes, source="pinn options")
    if reference is not None and not isinstance(reference, Solution):
        reference = read_run(reference)
    resume = Path(resume) if resume is not None else None
    if out_dir is None and resume is not None and resume.is_dir():
        out_dir = resume
    if out_dir is not None:
        return run_in_directory(case, Path(out_dir), case.pinn, reference=reference, resume=resume,
                                progress=bool(progress), stop=stop, init=init)
    state = load_checkpoint(resume) if resume is not None else None
    start = load_checkpoint(Path(init)) if init is not None else None
    return solve_pinn(case, case.pinn, reference, resume=state, progress=bool(progress), stop=stop, init=start)
