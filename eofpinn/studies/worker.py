"""One run of a study, executed inside a Dask worker: `execute_run(spec)`.

The run goes through the Python API (no subprocess) into its own directory with the same
bookkeeping as `eofpinn solve` (eofpinn.runs): the directory is locked for the whole run
(`.eofpinn.lock`, released by the kernel if the worker dies), `run.json` records the solver,
case, overrides, problem and settings, results are written all or nothing by
`io.write_run` (summary.json last), and PINN runs train through
`pinn_runs.run_in_directory`, so checkpoint.pt exists from step 0 on.

What a directory already holds decides what happens:

    summary.json of this run          skipped: finished earlier
    failure.json of this run          not retried: it failed on its own earlier (the reason is kept)
    a PINN checkpoint of this run     resumed from it (a worker died, or the sweep was stopped)
    a run of another problem,         refused with the differences (nothing is deleted);
      solver or settings                remove it or choose another --out
    nothing, or an unfinished         (re)started
      exact/FD run of this problem

A run that fails on its own — a SolverError: Newton did not converge, the PINN loss became NaN
or Inf — is recorded in failure.json and returned as "failed" (or "diverged"); it is not
raised, so Dask does not retry it. Bad input (EofpinnError) is returned as "error". Anything
else is a bug or a broken machine and is raised: Dask retries the task a bounded number of
times (and re-runs it elsewhere when its worker dies, up to the scheduler's allowed-failures).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from eofpinn import io, runs
from eofpinn.atomic import write_text
from eofpinn.errors import EofpinnError, SolverError
from eofpinn.studies.plan import RunSpec

FAILURE = "failure.json"
DIVERGED = "PINN training diverged"  # how the trainer's SolverError for a NaN/Inf loss begins
# pyplot keeps global state: two worker threads of one process must not draw at once.
_PLOT_LOCK = threading.Lock()


def outcome(spec: RunSpec, status: str, reason: str = "", seconds: float | None = None, **extra: Any) -> dict:
    """What a task returns to the client: the run, its status, why, and how long the task took."""
    return {"run": spec.name, "status": status, "reason": reason, "task_s": seconds, **extra}


def execute_run(spec: RunSpec) -> dict:
    """Run `spec` in its directory (see the module docstring); returns its outcome, with the
    warnings the run recorded and those collected while it ran (`warnings`, each once)."""
    RAISED.clear()
    result = _execute_run(spec)
    result["warnings"] = list(dict.fromkeys([*result.get("warnings", []), *RAISED]))
    return result


def _execute_run(spec: RunSpec) -> dict:
    start = time.perf_counter()
    run_dir = Path(spec.run_dir)
    try:
        case = spec.load()
        settings = runs.solver_settings(case, spec.solver, spec.options)
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = runs.acquire_lock(run_dir)
    except OSError as exc:
        return outcome(spec, "error", f"{run_dir}: {exc}", time.perf_counter() - start)
    except EofpinnError as exc:
        return outcome(spec, "error", str(exc), time.perf_counter() - start)
    try:
        return _run_locked(spec, case, settings, run_dir, start)
    except SolverError:
        raise
    except EofpinnError as exc:  # a refused resume, an unwritable file: the input or the disk, not luck
        return outcome(spec, "error", str(exc), time.perf_counter() - start)
    finally:
        os.close(lock)


def _run_locked(spec: RunSpec, case, settings: dict, run_dir: Path, start: float) -> dict:
    differences = runs.run_differences(run_dir, spec.solver, case, settings)
    if differences:
        return outcome(spec, "error", f"{run_dir}: holds a run of another problem or settings "
                                      f"({runs.describe_differences(differences)}); remove it or choose another --out",
                       time.perf_counter() - start)
    if (run_dir / runs.FINISHED).is_file():
        return outcome(spec, "skipped", "finished earlier", time.perf_counter() - start)
    failure = read_failure(run_dir)
    if failure is not None:
        return outcome(spec, failure.get("status", "failed"),
                       f"{failure['reason']} (recorded earlier; remove {run_dir} to retry it)",
                       time.perf_counter() - start)

    resume = spec.solver == "pinn" and (run_dir / runs.CHECKPOINT).is_file()
    if resume:
        record = runs.resumed_record(runs.check_resumable(run_dir, case, force=False) or {}, settings)
    else:
        for name in io.RUN_FILES:  # an unfinished attempt of this same run
            (run_dir / name).unlink(missing_ok=True)
        record = runs.new_record(spec.solver, case, settings, spec.overrides)
    runs.write_record(run_dir, record)
    try:
        solution = _solve(spec, case, run_dir, resume)
    except SolverError as exc:
        status = "diverged" if str(exc).startswith(DIVERGED) else "failed"
        write_text(run_dir / FAILURE, json.dumps({"status": status, "reason": str(exc)}, indent=2) + "\n")
        return outcome(spec, status, str(exc), time.perf_counter() - start, resumed=resume)
    solution.info["overrides"] = spec.overrides
    errors = errors_against_exact(solution)
    if errors is not None:
        solution.info["errors_vs_exact"] = errors
    io.write_run(solution, run_dir)
    if spec.plots:
        from eofpinn import plots

        with _PLOT_LOCK:
            plots.plot_run(solution, run_dir)
    seconds = time.perf_counter() - start
    runs.write_record(run_dir, runs.finished_record(record, seconds))
    # What the run warned of (e.g. a loss that could not be compiled), as its summary.json
    # records it: the sweep reports each distinct warning once.
    return outcome(spec, "finished", "", seconds, resumed=resume, warnings=list(solution.info.get("warnings", [])))


# The Python warnings raised in this worker process during its current run, where the sweep's
# own cluster collects them (cluster.CollectWarnings; such a worker runs one run at a time).
RAISED: list[str] = []


def collect_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """warnings.showwarning of a collecting worker: keep the message for the run's outcome."""
    RAISED.append(str(message))


def _solve(spec: RunSpec, case, run_dir: Path, resume: bool):
    from eofpinn import api

    options = dict(spec.options)
    if spec.solver == "pinn":
        options.update(out_dir=run_dir, resume=run_dir if resume else None, progress=False)
    return api.solve(case, spec.solver, **options)


def read_failure(run_dir: Path) -> dict | None:
    """failure.json of a run that failed on its own ({"status", "reason"}), None if absent."""
    path = Path(run_dir) / FAILURE
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def errors_against_exact(solution) -> dict[str, float] | None:
    """Relative L2 error of each field and the paper mean (φ, c₊, c₋, u) against the exact
    solution on the run's own grid, for a straight channel solved by FD or the PINN; None where
    no exact solution exists (zeta patterns) or for the exact solver itself."""
    if solution.solver == "exact" or solution.case.problem.uniform_zeta is None:
        return None
    from eofpinn.physics.exact import exact_fields
    from eofpinn.solution import Solution
    from eofpinn.validation.compare import field_errors

    X, Y = solution.mesh
    try:
        reference = Solution(case=solution.case, x=solution.x, y=solution.y,
                             fields=exact_fields(solution.case.problem, X, Y), solver="exact")
    except EofpinnError:  # the Poisson–Boltzmann profile itself failed (ε far too small)
        return None
    return {name: values["relative_l2"] for name, values in field_errors(solution, reference).items()}
