"""PNG figures of a solution: field maps and wall-normal profiles (matplotlib, no display)."""

from __future__ import annotations

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
