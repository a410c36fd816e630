"""Shared by the PINN studies: one resumable PINN run against a reference, and FD references.

A study run lives in its own directory (eofpinn.pinn_runs: checkpoints, history, plots) and is
skipped when its summary.json exists, so an interrupted study picks up where it stopped — but
only when that run was trained with the settings asked for now: a finished run of other
settings (e.g. a study rerun with another --steps into the same --out) is refused, never
reported under the new settings.
Errors are the run's own per-field relative L2 errors at its last step (the trainer's
evaluator: the network evaluated on the reference's grid — FD on the case's default grid, or
the exact straight-channel solution — no interpolation of the reference).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

from eofpinn import io
from eofpinn.cases import Case, with_settings
from eofpinn.cases.pinn_settings import as_table
from eofpinn.errors import EofpinnError, SolverError
from eofpinn.runs import recorded_settings
from eofpinn.solution import Solution


def run_script(main: Callable[[], Any]) -> None:
    """Run a study's main(); an error eofpinn reports to a user (a case, a setting, a run
    directory it refuses) is one line on stderr and its exit code, not a traceback."""
    try:
        main()
    except EofpinnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None


def use_threads(threads: int) -> None:
    """Run this process's torch on `threads` CPU threads (0: leave torch's default), before any
    run: the results page's header names the invoking process's thread count, which is the runs'
    only if it is set here — an invocation whose runs are all finished trains nothing."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def fd_reference(case: Case, out_dir: Path, nx: int | None = None, ny: int | None = None) -> Solution:
    """The FD solution of `case` on its default grid (or on nx × ny), solved once and kept in
    `out_dir`; a kept solution on another grid is refused."""
    from eofpinn.solvers.fd import solve_fd

    if (out_dir / "summary.json").is_file():
        kept = io.read_run(out_dir)
        wanted = (nx or case.fd.nx, ny or case.fd.ny)
        if (kept.x.size, kept.y.size) != wanted:
            raise EofpinnError(f"{out_dir}: an FD reference on {kept.x.size} × {kept.y.size} nodes, not the "
                               f"{wanted[0]} × {wanted[1]} asked for; remove it or use another --out")
        return kept
    out_dir.mkdir(parents=True, exist_ok=True)
    solution = solve_fd(case, nx=nx, ny=ny)
    io.write_run(solution, out_dir)
    return io.read_run(out_dir)


def reference_for(case: Case, out_dir: Path) -> Solution:
    """The exact solution for a straight channel, else the FD reference."""
    if case.problem.is_straight_channel:
        from eofpinn.solvers.exact import solve_exact

        return solve_exact(case)
    return fd_reference(case, out_dir)


def refuse_other_settings(run_dir: Path, recorded: dict[str, Any] | None, wanted: dict[str, Any]) -> None:
    """Raise an EofpinnError naming `run_dir` and the differing keys when the settings a finished
    run recorded (its summary.json) are not `wanted` (`threads` aside: it changes the kernels, not
    the run asked for)."""
    # runs.recorded_settings: dotted keys, a key added since the run at its default (as a resume sees it).
    before = recorded_settings({"solver": "pinn", "settings": recorded or {}})
    now = recorded_settings({"solver": "pinn", "settings": wanted})
    changed = sorted(k for k in before.keys() | now.keys() if k != "threads" and before.get(k) != now.get(k))
    if changed:
        shown = ", ".join(f"{k} {before.get(k)!r} there, {now.get(k)!r} now" for k in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        raise EofpinnError(f"{run_dir}: a finished run of other settings ({shown}{more}); "
                           "use another --out or remove that run")


def run_pinn(case: Case, changes: dict[str, Any], reference: Solution, out_dir: Path) -> dict[str, Any]:
    """Train the PINN of `case` with its [pinn] settings changed by `changes` (dotted keys) in
    `out_dir` (skipped when finished there), and measure it against `reference`.

    Returns per-field relative L2 errors (`err_<field>`), their paper mean (`err_mean`), the
    steps, the training seconds, ms per step, and `status` ("finished", "skipped" or
    "diverged: ...").
    """
    case = with_settings(case, changes, source="study")
    summary = out_dir / "summary.json"
    status = "skipped"
    if summary.is_file():
        refuse_other_settings(out_dir, json.loads(summary.read_text())["info"].get("settings"), as_table(case.pinn))
    start = time.perf_counter()
    if not summary.is_file():
        from eofpinn.pinn_runs import run_in_directory

        # An interrupted run continues from its checkpoint (exact resume), not from scratch.
        resume = out_dir if (out_dir / "checkpoint.pt").is_file() else None
        try:
            solution = run_in_directory(case, out_dir, case.pinn, reference=reference, resume=resume)
        except SolverError as exc:
            return {"status": f"diverged: {exc}", "err_mean": math.inf, "train_s": time.perf_counter() - start}
        io.write_run(solution, out_dir)
        status = "finished"
    info = json.loads(summary.read_text())["info"]
    row = {f"err_{name}": value for name, value in info["final_errors"].items()}
    row.update(status=status, steps=info.get("steps"), train_s=info.get("train_seconds"),
               ms_per_step=info.get("ms_per_step"))
    return row
