"""PNG figures (matplotlib, no display): a solution's field maps and wall-normal profiles, and a
PINN run's training history (loss terms, errors, gradient conflict).

Training plots read the rows of history.csv (eofpinn/pinn_runs.py): loss_history.png (every
`loss_<term>` and the weighted total), error_history.png (`err_<field>`, the mean in bold),
gradient_conflict.png (alignment score and smallest pairwise cosine over steps, and the
cosine matrix of the last row).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from eofpinn.atomic import replacing  # noqa: E402
from eofpinn.io import length_unit, physical_fields  # noqa: E402
from eofpinn.solution import Solution  # noqa: E402

# (VTK array, label, component) for the maps and profiles
MAP_FIELDS = (
    ("potential_V", "total potential φ [mV]", None, 1e3),
    ("edl_potential_V", "double-layer potential ψ [mV]", None, 1e3),
    ("c_plus_mol_m3", "cation concentration c₊ [mM]", None, 1.0),
    ("c_minus_mol_m3", "anion concentration c₋ [mM]", None, 1.0),
    ("velocity_m_s", "velocity u [mm/s]", 0, 1e3),
    ("velocity_m_s", "velocity v [mm/s]", 1, 1e3),
    ("pressure_Pa", "pressure p [Pa]", None, 1.0),
    ("excess_pressure_Pa", "excess pressure p − Π [Pa]", None, 1.0),
)


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Save `fig` to `path` all or nothing (eofpinn.atomic) and close it, even on failure."""
    path = Path(path)
    try:
        with replacing(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or None)
    finally:
        plt.close(fig)
    return path


def _component(array: np.ndarray, component: int | None) -> np.ndarray:
    return array if component is None else array[..., component]


def plot_fields(solution: Solution, path: Path) -> Path:
    """A grid of colour maps of every field in physical units."""
    unit = length_unit(solution.case.scalings.height_m)
    factor = 1.0 / unit.metres
    X, Y = solution.mesh
    height = solution.case.scalings.height_m
    phys = physical_fields(solution)
    fig, axes = plt.subplots(4, 2, figsize=(11, 11), constrained_layout=True)
    for ax, (name, label, comp, scale) in zip(axes.ravel(), MAP_FIELDS):
        values = _component(phys[name], comp) * scale
        mesh = ax.pcolormesh(X * height * factor, Y * height * factor, values, shading="gouraud", cmap="viridis")
        fig.colorbar(mesh, ax=ax)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(f"x [{unit.label}]")
        ax.set_ylabel(f"y [{unit.label}]")
    fig.suptitle(f"{solution.case.name} — {solution.solver} solver")
    return save_figure(fig, path)


def plot_profiles(solution: Solution, path: Path, stations: tuple[float, ...] = (0.5,)) -> Path:
    """Wall-normal profiles ψ, c±, u at the given fractions of the channel length."""
    unit = length_unit(solution.case.scalings.height_m)
    y = solution.y * solution.case.scalings.height_m / unit.metres
    phys = physical_fields(solution)
    panels = (
        ("edl_potential_V", "ψ [mV]", None, 1e3),
        ("c_plus_mol_m3", "c₊, c₋ [mM]", None, 1.0),
        ("velocity_m_s", "u [mm/s]", 0, 1e3),
        ("excess_pressure_Pa", "p − Π [Pa]", None, 1.0),
    )
    fig, axes = plt.subplots(1, 4, figsize=(15, 4), constrained_layout=True)
    for fraction in stations:
        i = int(np.argmin(np.abs(solution.x - fraction * solution.case.problem.length_ratio)))
        tag = f"x = {fraction:g} L"
        for ax, (name, label, comp, scale) in zip(axes, panels):
            ax.plot(y, _component(phys[name], comp)[i] * scale, label=f"{tag}" if name != "c_plus_mol_m3" else f"c₊, {tag}")
            if name == "c_plus_mol_m3":
                ax.plot(y, phys["c_minus_mol_m3"][i], "--", label=f"c₋, {tag}")
            ax.set_xlabel(f"y [{unit.label}]")
            ax.set_ylabel(label)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{solution.case.name} — wall-normal profiles ({solution.solver})")
    return save_figure(fig, path)


def plot_run(solution: Solution, out_dir: str | Path) -> list[Path]:
    """Write fields.png and profiles.png (mid-channel and quarter stations) into `out_dir`."""
    out_dir = Path(out_dir)
    return [
        plot_fields(solution, out_dir / "fields.png"),
        plot_profiles(solution, out_dir / "profiles.png", stations=(0.25, 0.5, 0.75)),
    ]


# --------------------------------------------------------------------------- training history
LOSS_PLOT = "loss_history.png"
ERROR_PLOT = "error_history.png"
CONFLICT_PLOT = "gradient_conflict.png"
COSINE_PREFIX = "cos_"
PAIR_SEPARATOR = "__"


def _series(rows: list[dict[str, float]], prefix: str) -> dict[str, tuple[list[float], list[float]]]:
    out: dict[str, tuple[list[float], list[float]]] = {}
    for row in rows:
        for key, value in row.items():
            if key.startswith(prefix) and isinstance(value, float) and math.isfinite(value) and value > 0:
                steps, values = out.setdefault(key[len(prefix):], ([], []))
                steps.append(row["step"])
                values.append(value)
    return out


def _plot_series(series: dict, title: str, ylabel: str, path: Path, highlight: str | None = None) -> None:
    if not series:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (steps, values) in series.items():
        ax.semilogy(steps, values, label=name, lw=2.5 if name == highlight else 1.0,
                    color="k" if name == highlight else None)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def _cosine_matrix(row: dict[str, float]) -> tuple[list[str], list[list[float]]]:
    """Term names and the K×K cosine matrix from a row's `cos_<a>__<b>` columns (a before b)."""
    pairs = {}
    for key, value in row.items():
        if key.startswith(COSINE_PREFIX) and PAIR_SEPARATOR in key:
            pairs[tuple(key[len(COSINE_PREFIX):].split(PAIR_SEPARATOR))] = value
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    matrix = [[1.0 if a == b else pairs.get((a, b), pairs.get((b, a), math.nan)) for b in names] for a in names]
    return names, matrix


def _plot_conflict(rows: list[dict[str, float]], title: str, path: Path) -> None:
    """Alignment score and minimum pairwise cosine against step; the last row's cosine matrix."""
    rows = [row for row in rows if isinstance(row.get("grad_alignment"), float)]
    if not rows:
        return
    names, matrix = _cosine_matrix(rows[-1])
    fig, (ax, ax_map) = plt.subplots(1, 2, figsize=(12, 4.8), width_ratios=(1.2, 1))
    steps = [row["step"] for row in rows]
    ax.plot(steps, [row["grad_alignment"] for row in rows], "k", lw=2, label="alignment score A")
    ax.plot(steps, [row.get("cos_min", math.nan) for row in rows], "C3", lw=1.2, label="min pairwise cosine")
    ax.axhline(0.0, color="0.5", lw=0.8)
    if names:  # K mutually orthogonal gradients give A = 2/K − 1: below it, net conflict
        ax.axhline(2.0 / len(names) - 1.0, color="0.4", lw=0.8, ls="--", label=f"A of {len(names)} orthogonal terms")
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("step")
    ax.set_ylabel("cosine / score")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    if names:  # none with a single loss term
        image = ax_map.imshow(matrix, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
        ax_map.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        ax_map.set_yticks(range(len(names)), names, fontsize=7)
        ax_map.set_title(f"pairwise cosine at step {rows[-1]['step']}", fontsize=9)
        fig.colorbar(image, ax=ax_map, fraction=0.046)
    _save(fig, path)


def write_training_plots(rows: list[dict[str, float]], out_dir: Path, case_name: str) -> None:
    losses = _series(rows, "loss_")
    total = _series(rows, "loss").get("")  # the bare "loss" column
    if total:
        losses["total (weighted)"] = total
    _plot_series(losses, f"{case_name}: loss terms", "mean square residual", out_dir / LOSS_PLOT, "total (weighted)")
    _plot_series(_series(rows, "err_"), f"{case_name}: relative L2 error", "relative L2 error",
          out_dir / ERROR_PLOT, "mean")
    _plot_conflict(rows, f"{case_name}: gradient conflict (arXiv 2502.00604)", out_dir / CONFLICT_PLOT)
