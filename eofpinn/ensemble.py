"""`eofpinn ensemble RUN RUN [...] --out DIR`: the mean of finished PINN runs that differ only in
their seed, and how far apart they are.

A PINN run is one draw: its seed (initial weights, collocation points) moves the flow fields of
a genuinely 2D case by up to 2× (docs/method.md "Points about the step, and ensembles of
seeds"). The mean of N runs of one recipe is a better estimate where the seeds' errors are
independent, and the spread between them is an error indicator that needs no reference:

    f̄ = (1/N) Σ f_k,   s_f = sqrt(Σ (f_k − f̄)² / (N − 1))     node by node, every field
    spread_f = ‖s_f‖ / ‖f̄‖                                     trapezoidal L2 on the runs' grid
    standard_error_f = spread_f / √N                            the error of f̄ if the seeds'
                                                                errors were independent

(‖f̄‖ is replaced by the norm of the mean velocity magnitude ‖|ū|‖ for the v of a straight channel,
zero but for the networks' noise, which is then measured against the flow, as `eofpinn validate`
measures it against an exact v = 0, and for u or v wherever ‖f̄‖ is below a thousandth of ‖|ū|‖.
A short run's v on a straight channel can be a few thousandths of ‖|ū|‖, so the threshold
alone would not catch it.)
What the seeds share — a bias of the recipe — the spread cannot see: measured against FD the
standard error is below the actual error of the mean by about 2–5× in ψ, c±, u and p and close
to it in v (docs/method.md).

The members must be finished runs (summary.json) of the same problem, written on the same grid,
with the same [pinn] settings but for the seed (and `threads`, `device`, `compile`, which change
rounding, not the recipe, and the [pinn.records] keys) and with distinct seeds. The output is a
run directory of its own (fields.npz, fields.vts, summary.json, case.toml, fields.png,
profiles.png; solver "pinn-ensemble") that `eofpinn validate` and `eofpinn plot` read, plus
ensemble.json (members, seeds, spreads) and ensemble_spread.npz / ensemble_spread.png (s_f).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from eofpinn import io, runs
from eofpinn.atomic import reason, replacing, write_text
from eofpinn.cases import with_field
from eofpinn.cases.model import Problem
from eofpinn.errors import EofpinnError
from eofpinn.solution import FIELD_NAMES, Solution, trapezoid_weights

SOLVER = "pinn-ensemble"
ENSEMBLE_FILE = "ensemble.json"
SPREAD_FILE = "ensemble_spread.npz"
SPREAD_PLOT = "ensemble_spread.png"
# [pinn] keys in which members may differ: they change the rounding of a run, not its recipe.
FREE_SETTINGS = ("seed", "threads", "device", "compile")
VANISHING_VELOCITY = 1e-3  # ‖ū‖ or ‖v̄‖ below this share of ‖|ū|‖: measure its spread against ‖|ū|‖


def _member(run_dir: Path) -> tuple[Solution, Problem, dict]:
    """A finished PINN run, its problem as the case file poses it (at open circuit each run has
    found its own Ê, which the solution's problem carries) and its [pinn] settings (flattened);
    or one clear refusal."""
    if not run_dir.is_dir():
        raise EofpinnError(f"{run_dir}: no such run directory")
    if not (run_dir / "summary.json").is_file():
        raise EofpinnError(f"{run_dir}: not a finished run (no summary.json); finish it "
                           "(eofpinn solve … --out DIR --resume) or leave it out of the ensemble")
    record = runs.read_record(run_dir)
    solution = io.read_run(run_dir)
    if solution.solver != "pinn":
        raise EofpinnError(f"{run_dir}: solver {solution.solver}, not pinn; eofpinn ensemble combines PINN runs "
                           "(eofpinn solve CASE --solver pinn --seed S) that differ only in their seed")
    if record is None:
        raise EofpinnError(f"{run_dir}: no run.json (a run from before eofpinn recorded its settings), so its "
                           "recipe and seed cannot be checked; rerun it to use it in an ensemble")
    return solution, io.read_run_case(run_dir).problem, runs.recorded_settings(record)


def _recipe(settings: dict) -> dict:
    return {key: value for key, value in settings.items()
            if key not in FREE_SETTINGS and not key.startswith("records.")}


def load_members(run_dirs: list[str | Path]) -> list[tuple[Path, Solution, Problem, dict]]:
    """The member runs, checked: at least two distinct directories, finished PINN runs of one
    problem on one grid, the same recipe, distinct seeds."""
    dirs = [Path(d) for d in run_dirs]
    if len({d.resolve() for d in dirs}) < 2:
        raise EofpinnError("ensemble needs at least two different run directories (the seeds of one case)")
    members = [(d, *_member(d)) for d in dirs]
    first_dir, first, first_problem, first_settings = members[0]
    seeds = {}
    for run_dir, solution, problem, settings in members:
        differences = runs.problem_differences(problem, first_problem, str(run_dir), str(first_dir))
        if differences:
            raise EofpinnError(f"{run_dir} and {first_dir} are runs of different problems "
                               f"({runs.describe_differences(differences)}); an ensemble averages seeds of one case")
        if not (np.array_equal(solution.x, first.x) and np.array_equal(solution.y, first.y)):
            counts = (solution.x.size, solution.y.size) == (first.x.size, first.y.size)
            why = ("as many nodes, placed differently: the [fd] grid differs, or one was written before the output "
                   "y nodes were clustered at the walls (2026-12-06)" if counts else
                   f"{solution.x.size} × {solution.y.size} and {first.x.size} × {first.y.size} nodes")
            raise EofpinnError(f"{run_dir} and {first_dir} wrote their fields on different grids ({why}); "
                               "run the members with the same [pinn.records] eval_nx, eval_ny and [fd] section")
        changed = runs.settings_differences(_recipe(settings), _recipe(first_settings), str(run_dir), str(first_dir))
        if changed:
            raise EofpinnError(f"{run_dir} and {first_dir} differ in [pinn] settings other than the seed "
                               f"({runs.describe_differences(changed)}); an ensemble averages seeds of one recipe")
        seed = settings.get("seed")
        if seed in seeds:
            raise EofpinnError(f"{run_dir} and {seeds[seed]} have the same seed {seed}: the same run twice, "
                               "not two draws; give each member its own --seed")
        seeds[seed] = run_dir
    return members


def _norm(weights: np.ndarray, values: np.ndarray) -> float:
    return float(np.sqrt(np.sum(weights * values**2)))


def combine(solutions: list[Solution]) -> tuple[Solution, dict[str, np.ndarray], dict[str, float]]:
    """The mean solution (solver "pinn-ensemble"), the member standard deviation s_f of every
    field, and each field's relative spread ‖s_f‖/‖f̄‖ (module docstring). At open circuit the
    field Ê that each member found is averaged too (`field_hat` in the spreads: its relative
    standard deviation)."""
    first = solutions[0]
    stacks = {name: np.stack([s.fields[name] for s in solutions]) for name in FIELD_NAMES}
    mean = {name: stack.mean(axis=0) for name, stack in stacks.items()}
    deviation = {name: stack.std(axis=0, ddof=1) for name, stack in stacks.items()}
    weights = trapezoid_weights(first.x, first.y)
    speed = _norm(weights, np.hypot(mean["u"], mean["v"]))
    straight = first.case.problem.is_straight_channel
    spread = {}
    for name in FIELD_NAMES:
        norm = _norm(weights, mean[name])
        if (name == "v" and straight) or (name in ("u", "v") and norm < VANISHING_VELOCITY * speed):
            norm = speed
        spread[name] = _norm(weights, deviation[name]) / norm if norm > 0 else _norm(weights, deviation[name])
    info = {"overrides": first.info.get("overrides", {})}
    case = first.case
    if case.problem.open_circuit:
        found = np.array([s.case.problem.field_hat for s in solutions])
        info["open_circuit_field_hat"] = float(found.mean())
        spread["field_hat"] = float(found.std(ddof=1) / (abs(found.mean()) or 1.0))
        case = with_field(case, info["open_circuit_field_hat"])
    solution = Solution(case=case, x=first.x, y=first.y, fields=mean, solver=SOLVER, info=info)
    return solution, deviation, spread


def _refuse_existing(out_dir: Path) -> None:
    """Refuse an --out that another eofpinn process holds, or that holds anything."""
    if out_dir.is_dir():
        runs.refuse_if_locked(out_dir)
    _refuse_contents(out_dir)


def _refuse_contents(out_dir: Path) -> None:
    """Refuse an --out that holds anything but a lock file."""
    if out_dir.exists() and (not out_dir.is_dir() or any(p.name != runs.LOCK for p in out_dir.iterdir())):
        raise EofpinnError(f"{out_dir}: exists and is not an empty directory; choose another --out "
                           "(eofpinn ensemble never overwrites)")


def write_ensemble(run_dirs: list[str | Path], out_dir: str | Path) -> tuple[list[Path], dict]:
    """Check the members, write the mean run and the spread files into `out_dir` (which must not
    hold anything yet); returns the files written and the contents of ensemble.json."""
    from eofpinn import plots

    out_dir = Path(out_dir)
    _refuse_existing(out_dir)
    members = load_members(run_dirs)
    solution, deviation, spread = combine([m[1] for m in members])
    n = len(members)
    report = {
        "members": [str(d.resolve()) for d, *_ in members],
        "seeds": [s.get("seed") for *_, s in members],
        "spread": spread,
        "standard_error": {name: value / math.sqrt(n) for name, value in spread.items()},
    }
    solution.info["ensemble"] = report
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EofpinnError(f"{out_dir}: cannot create the directory ({reason(exc)}); choose another --out") from None
    lock = runs.acquire_lock(out_dir)  # held while writing, like a solve's: no other run mixes in
    try:
        _refuse_contents(out_dir)  # another process may have written there while the members were read
        with replacing(out_dir / SPREAD_FILE) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, x=solution.x, y=solution.y, **deviation)
        written = [out_dir / SPREAD_FILE, write_text(out_dir / ENSEMBLE_FILE, json.dumps(report, indent=2) + "\n"),
                   plot_spread(solution, deviation, spread, n, out_dir / SPREAD_PLOT)]
        written += io.write_run(solution, out_dir)  # summary.json, written last, marks the run complete
        written += plots.plot_run(solution, out_dir)
    finally:
        os.close(lock)
    return written, report


def plot_spread(solution: Solution, deviation: dict[str, np.ndarray], spread: dict[str, float], n_members: int,
                path: Path) -> Path:
    """Maps of the member standard deviation s_f (dimensionless) of ψ, c₊, c₋, u, v and p."""
    from eofpinn.plots import plt, save_figure

    X, Y = solution.mesh
    names = ("psi", "c_plus", "c_minus", "u", "v", "p")
    fig, axes = plt.subplots(3, 2, figsize=(11, 9), constrained_layout=True)
    for ax, name in zip(axes.ravel(), names):
        mesh = ax.pcolormesh(X, Y, deviation[name], shading="gouraud", cmap="magma")
        fig.colorbar(mesh, ax=ax)
        ax.set_title(f"{name}: member std (‖s‖/‖mean‖ = {spread[name]:.2e})", fontsize=10)
        ax.set_xlabel("x / H")
        ax.set_ylabel("y / H")
    fig.suptitle(f"{solution.case.name} — spread of {n_members} PINN seeds")
    return save_figure(fig, path)


def report_lines(report: dict) -> list[str]:
    """The table `eofpinn ensemble` prints: each field's spread and standard error."""
    lines = [f"{'field':<9} {'spread':>10} {'std. error':>11}"]
    for name in report["spread"]:
        lines.append(f"{name:<9} {report['spread'][name]:>10.2e} {report['standard_error'][name]:>11.2e}")
    return lines
