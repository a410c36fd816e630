"""Shared by the PINN studies: one resumable PINN run against a reference, and FD references.

A study run lives in its own directory (eofpinn.pinn_runs: checkpoints, history, plots) and is
skipped when its summary.json exists, so an interrupted study picks up where it stopped.
Errors are the run's own per-field relative L2 errors at its last step (the trainer's
evaluator: the network evaluated on the reference's grid — FD on the case's default grid, or
the exact straight-channel solution — no interpolation of the reference).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from eofpinn import io
from eofpinn.cases import Case, with_settings
from eofpinn.errors import SolverError
from eofpinn.solution import Solution


def fd_reference(case: Case, out_dir: Path) -> Solution:
    """The FD solution of `case` on its default grid, solved once and kept in `out_dir`."""
    from eofpinn.solvers.fd import solve_fd

    if (out_dir / "summary.json").is_file():
        return io.read_run(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    solution = solve_fd(case)
    io.write_run(solution, out_dir)
    return io.read_run(out_dir)


def reference_for(case: Case, out_dir: Path) -> Solution:
    """The exact solution for a straight channel, else the FD reference."""
    if case.problem.is_straight_channel:
        from eofpinn.solvers.exact import solve_exact

        return solve_exact(case)
    return fd_reference(case, out_dir)


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
