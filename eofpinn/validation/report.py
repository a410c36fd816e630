"""`eofpinn validate`: errors against a reference, balances, and comparison figures. Without a
reference (a case with no exact solution and no reference run given) the balances alone: each is
a conservation law that the run must keep by itself (`compare.balances`)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from eofpinn.atomic import write_text  # noqa: E402
from eofpinn.plots import save_figure  # noqa: E402
from eofpinn.solution import FIELD_NAMES, Solution  # noqa: E402
from eofpinn.physics.exact import exact_fields  # noqa: E402
from eofpinn.validation.compare import balances, field_errors, on_grid, section_fluxes  # noqa: E402

LABELS = {"phi": "φ", "psi": "ψ", "c_plus": "c₊", "c_minus": "c₋", "u": "u", "v": "v", "p": "p"}
STATIONS = (0.25, 0.5, 0.75)
# The bound the PINN's targets set on each flux spread (docs/method.md); `format_report` marks a
# spread above it. FD on a grid that resolves the case keeps its spreads under 1e-3.
FLUX_SPREAD_BOUND = 1e-2
FLUX_LABELS = {"volume": "volume (∫u dy)", "c_plus": "c₊ (∫N₊·eₓ dy)", "c_minus": "c₋ (∫N₋·eₓ dy)"}


def exact_reference(solution: Solution) -> Solution:
    """The exact solution on the solution's own grid (UnsupportedCaseError for patterned walls)."""
    X, Y = solution.mesh
    return Solution(case=solution.case, x=solution.x, y=solution.y,
                    fields=exact_fields(solution.case.problem, X, Y), solver="exact")


def plot_comparison(solution: Solution, reference: Solution, path: Path) -> Path:
    """One row per field: solution | reference | signed error (dimensionless)."""
    ref = on_grid(reference, solution.x, solution.y)
    X, Y = solution.mesh
    fig, axes = plt.subplots(len(FIELD_NAMES), 3, figsize=(12, 2.3 * len(FIELD_NAMES)), constrained_layout=True)
    for row, name in zip(axes, FIELD_NAMES):
        panels = (solution.fields[name], ref[name], solution.fields[name] - ref[name])
        titles = (f"{LABELS[name]} ({solution.solver})", f"{LABELS[name]} ({reference.solver})", "error")
        for ax, data, title in zip(row, panels, titles):
            mesh = ax.pcolormesh(X, Y, data, shading="gouraud", cmap="RdBu_r" if title == "error" else "viridis")
            fig.colorbar(mesh, ax=ax)
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"{solution.case.name}: {solution.solver} vs {reference.solver} (dimensionless)")
    return save_figure(fig, path, dpi=100)


def plot_profile_comparison(solution: Solution, reference: Solution, path: Path) -> Path:
    """Wall-normal profiles of ψ, c±, u, p at three stations, solution (lines) vs reference (dots)."""
    names = ("psi", "c_plus", "c_minus", "u", "p")
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.8), constrained_layout=True)
    ell = solution.case.problem.length_ratio
    for fraction, colour in zip(STATIONS, ("C0", "C1", "C2")):
        i = int(np.argmin(np.abs(solution.x - fraction * ell)))
        k = int(np.argmin(np.abs(reference.x - solution.x[i])))
        for ax, name in zip(axes, names):
            ax.plot(solution.y, solution.fields[name][i], color=colour, label=f"{solution.solver}, x = {solution.x[i]:.3g}")
            ax.plot(reference.y, reference.fields[name][k], ".", color=colour, ms=3, label=f"{reference.solver}")
            ax.set_xlabel("y / H")
            ax.set_title(LABELS[name])
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{solution.case.name}: profiles at x/ℓ = {', '.join(map(str, STATIONS))}")
    return save_figure(fig, path, dpi=100)


def plot_balances(solution: Solution, path: Path) -> Path:
    """Each conserved flux through the cross-sections along the channel, as its departure from
    its own mean over the scale its spread is taken on: where along x the run loses or gains."""
    fig, ax = plt.subplots(figsize=(8, 3.8), constrained_layout=True)
    for name, (x, flux, scale) in section_fluxes(solution).items():
        ax.plot(x, (flux - np.mean(flux)) / scale, label=f"{FLUX_LABELS[name]}: spread {np.ptp(flux) / scale:.2e}")
    ax.set_xlabel("x / H")
    ax.set_ylabel("(Q − mean Q) / scale")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{solution.case.name} ({solution.solver}): fluxes through the cross-sections "
                 f"(0 for a conserving solution; spread = max − min)", fontsize=9)
    return save_figure(fig, path, dpi=100)


def validate(solution: Solution, reference: Solution | None, out_dir: Path) -> dict:
    """Write validation.json, balances.png and, with a reference, comparison.png and
    profiles_comparison.png; return the report."""
    out_dir = Path(out_dir)
    report = {
        "case": solution.case.name,
        "solver": solution.solver,
        "reference": None if reference is None else reference.solver,
        # The reference's own nodes: its grid error is in every figure below and in none of them
        # (docs/getting-started.md: halve an FD reference's cells to measure it).
        "reference_grid": None if reference is None else [int(reference.x.size), int(reference.y.size)],
        "errors": {} if reference is None else field_errors(solution, reference),
        "grid": [int(solution.x.size), int(solution.y.size)],
        "balances": balances(solution),
        "reference_balances": None if reference is None else balances(reference),
    }
    write_text(out_dir / "validation.json", json.dumps(report, indent=2) + "\n")
    plot_balances(solution, out_dir / "balances.png")
    if reference is None:  # figures of an earlier comparison would no longer match validation.json
        for name in ("comparison.png", "profiles_comparison.png"):
            (out_dir / name).unlink(missing_ok=True)
    else:
        plot_comparison(solution, reference, out_dir / "comparison.png")
        plot_profile_comparison(solution, reference, out_dir / "profiles_comparison.png")
    return report


def format_report(report: dict) -> str:
    lines = []
    if report["reference"] is not None:
        grid = report.get("reference_grid")
        on = f" on {grid[0]} × {grid[1]} nodes" if grid else ""
        lines += [f"{report['case']}: {report['solver']} vs {report['reference']}{on}",
                  f"{'field':<10}{'rel. L2':>12}{'max error':>12}"]
        for name, e in report["errors"].items():
            lines.append(f"{name:<10}{e['relative_l2']:>12.3e}{e['max_error']:>12.3e}")
    else:
        lines.append(f"{report['case']}: {report['solver']}, no reference (--reference DIR compares with another run "
                     "of the case, e.g. FD; a straight channel's default is its exact solution)")
    grid = report.get("grid")
    lines.append("balances (from the run alone, 0 for an exact solution"
                 + (f"; on its {grid[0]} × {grid[1]} nodes):" if grid else "):"))
    for name, value in report["balances"].items():
        over = "_spread" in name and value > FLUX_SPREAD_BOUND
        lines.append(f"  {name:<26}{value:>12.3e}" + (f"   over {FLUX_SPREAD_BOUND:.0e}" if over else ""))
    return "\n".join(lines)


def balance_line(found: dict[str, float]) -> str:
    """The balances of `compare.balances` in one line, as `eofpinn solve` prints them after a PINN
    run: 'balances: ion-flux spread c₊ 6.0e-03, c₋ 6.2e-03, volume-flux spread 7.2e-04, charge
    4.7e-04', and which spreads exceed FLUX_SPREAD_BOUND."""
    spreads = {"c₊": found["ion_flux_spread_c_plus"], "c₋": found["ion_flux_spread_c_minus"],
               "volume": found["volume_flux_spread"]}
    line = (f"balances: ion-flux spread c₊ {spreads['c₊']:.1e}, c₋ {spreads['c₋']:.1e}, volume-flux spread "
            f"{spreads['volume']:.1e}, charge {found['charge_balance']:.1e}")
    over = [name for name, value in spreads.items() if value > FLUX_SPREAD_BOUND]
    return line + (f" ({', '.join(over)} over {FLUX_SPREAD_BOUND:.0e}; `eofpinn validate` plots where)" if over else "")
