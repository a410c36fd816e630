"""Study 1: exact vs FD vs PINN for the straight channel over ε and ζ̂.

For each (ε, ζ̂) of {0.1, 0.05, 0.02} × {1, 2, 4} the straight periodic channel (full model, Ê = 1,
Pe = 1) is solved by the FD solver at its default grid and by the PINN with the quick-start
case's [pinn] settings (the recipe), for each of --seeds seeds; both are compared with the
exact solution (physics.md §4). Prints a table (PINN: the median over seeds), writes
exact_suite.json and exact_suite.png under --out, and the `exact_suite` section of
validation/RESULTS.md. Runs are resumable: a finished run directory is read, not rerun.

    python validation/exact_suite.py                      # FD + PINN, 2 seeds (≈ 18 PINN runs)
    python validation/exact_suite.py --skip-pinn          # FD only (about a minute)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `validation.*`, eofpinn

from eofpinn.cases import case_from_problem, load_case, straight_problem  # noqa: E402
from eofpinn.solvers.exact import solve_exact  # noqa: E402
from eofpinn.solvers.fd import solve_fd  # noqa: E402
from eofpinn.validation.compare import field_errors  # noqa: E402
from eofpinn.validation.report import exact_reference  # noqa: E402
from validation import pinn_study  # noqa: E402
from validation.results_page import markdown_table, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EPSILONS = (0.1, 0.05, 0.02)
ZETAS = (1.0, 2.0, 4.0)


def run_fd(case) -> dict:
    start = time.perf_counter()
    solution = solve_fd(case)
    errors = field_errors(solution, exact_reference(solution))
    return {"fd_mean_l2": errors["paper_mean"]["relative_l2"],
            "fd_max_err": max(errors[n]["max_error"] for n in ("phi", "c_plus", "c_minus", "u")),
            "fd_grid": f"{solution.x.size}x{solution.y.size}", "fd_s": time.perf_counter() - start}


def run_pinn(case, out_dir: Path, seed: int) -> dict:
    """The PINN with the quick-start case's [pinn] settings (the recipe) for this seed, against the
    exact solution; resumable (a finished run directory is read, not rerun)."""
    settings = load_case(REPO / "cases" / "quickstart.toml").pinn
    case = dataclasses.replace(case, pinn=settings)
    row = pinn_study.run_pinn(case, {"seed": seed}, solve_exact(case), out_dir)
    return {"pinn_mean_l2": row["err_mean"], "pinn_steps": row.get("steps", "diverged"),
            "pinn_s": row.get("train_s", math.nan)}


def median_over_seeds(runs: list[dict]) -> dict:
    """The median error over seeds (and the slowest run's time), the seeds' errors listed."""
    errors = [r["pinn_mean_l2"] for r in runs]
    return {"pinn_mean_l2": float(np.median(errors)), "pinn_seeds": " / ".join(f"{e:.1e}" for e in errors),
            "pinn_steps": runs[0]["pinn_steps"], "pinn_s": max(r["pinn_s"] for r in runs)}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "validation" / "out" / "exact_suite"))
    parser.add_argument("--skip-pinn", action="store_true")
    parser.add_argument("--seeds", type=int, default=2, help="PINN seeds per cell (the median is reported)")
    parser.add_argument("--epsilons", type=float, nargs="+", default=list(EPSILONS),
                        help="a subset of the ε values (to share the runs out over processes; the page is "
                             "written only for the full set)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for eps in args.epsilons:
        for zeta in ZETAS:
            case = case_from_problem(straight_problem(eps, zeta, field_hat=1.0, peclet=1.0), name=f"eps{eps}_zeta{zeta}")
            row = {"ε": eps, "ζ̂": zeta, **run_fd(case)}
            if not args.skip_pinn:
                row.update(median_over_seeds([run_pinn(case, out / case.name / f"seed{seed}", seed)
                                              for seed in range(args.seeds)]))
            rows.append(row)
            print(", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in row.items()), flush=True)
    (out / "exact_suite.json").write_text(json.dumps(rows, indent=2))
    _plot(rows, out / "exact_suite.png")
    columns = ["ε", "ζ̂", "fd_grid", "fd_mean_l2", "fd_max_err", "fd_s"]
    if not args.skip_pinn:
        columns += ["pinn_steps", "pinn_mean_l2", "pinn_seeds", "pinn_s"]
    table = markdown_table(rows, columns, {"fd_mean_l2": ".2e", "fd_max_err": ".2e", "fd_s": ".1f",
                                           "pinn_mean_l2": ".2e", "pinn_s": ".0f"})
    print(table)
    body = ("### Straight channel: exact vs FD vs PINN (full model, Ê = 1, Pe = 1, periodic)\n\n"
            "Errors are the paper's mean relative L2 over (φ, c₊, c₋, u) and the largest per-field max error "
            "relative to the field's peak, each solver on its own grid against the exact solution. "
            f"PINN: the quick-start case's [pinn] settings (the recipe), median over {args.seeds} seed(s) "
            "(each seed's error listed); target ≤ 1e-3 in every cell.\n\n" + table)
    if sorted(args.epsilons) == sorted(EPSILONS):
        write_section("exact_suite", "python validation/exact_suite.py " + " ".join(argv or []), body)
    return rows


def _plot(rows: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for zeta, marker in zip(ZETAS, "osd"):
        sel = [r for r in rows if r["ζ̂"] == zeta]
        ax.loglog([r["ε"] for r in sel], [r["fd_mean_l2"] for r in sel], marker + "-", label=f"FD, ζ̂ = {zeta:g}")
        if "pinn_mean_l2" in sel[0]:
            ax.loglog([r["ε"] for r in sel], [r["pinn_mean_l2"] for r in sel], marker + "--", label=f"PINN, ζ̂ = {zeta:g}")
    ax.axhline(1e-3, color="0.5", lw=0.8, ls=":", label="PINN target 1e-3")
    ax.set_xlabel("Debye ratio ε")
    ax.set_ylabel("mean relative L2 vs exact")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    pinn_study.run_script(main)
