"""ParaView-side outputs: an off-screen pyvista render of a run, and .pvd collections.

The render runs in a child process (`python -m eofpinn.render RUN_DIR`) so that a broken
OpenGL stack (no display, no EGL/OSMesa) can at worst fail that process: the caller falls back
to the matplotlib figures and reports why, and never crashes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

from eofpinn.atomic import replacing, write_text

# VTK's default font has no Greek or subscripts: ASCII titles.
RENDER_FIELDS = (
    ("potential_V", "total potential phi [V]"),
    ("c_plus_mol_m3", "cation concentration [mol/m^3]"),
    ("velocity_m_s", "speed [m/s], arrows: velocity"),
    ("excess_pressure_Pa", "excess pressure [Pa]"),
)
ARROWS_PER_SIDE = 12


def _render(run_dir: Path) -> Path:
    import pyvista as pv

    grid = pv.read(run_dir / "fields.vts")
    plotter = pv.Plotter(off_screen=True, shape=(2, 2), window_size=(1400, 800))
    for index, (name, title) in enumerate(RENDER_FIELDS):
        plotter.subplot(index // 2, index % 2)
        plotter.add_mesh(grid.copy(), scalars=name, cmap="viridis", scalar_bar_args={"title": title})
        if name == "velocity_m_s":
            nx, ny, _ = grid.dimensions
            coarse = grid.extract_subset((0, nx - 1, 0, ny - 1, 0, 0),
                                         rate=(max(1, nx // ARROWS_PER_SIDE), max(1, ny // ARROWS_PER_SIDE), 1))
            peak = max(float(abs(grid[name]).max()), 1e-30)
            spacing = grid.length / (2 * ARROWS_PER_SIDE)
            plotter.add_mesh(coarse.glyph(orient=name, scale=name, factor=spacing / peak), color="white")
        plotter.view_xy()
    out = run_dir / "render.png"
    with replacing(out) as tmp:
        plotter.screenshot(str(tmp))
    plotter.close()
    return out


def render_run(run_dir: str | Path, timeout_s: float = 180.0) -> tuple[Path | None, str]:
    """Render fields.vts of `run_dir` to render.png; returns (path or None, note)."""
    run_dir = Path(run_dir)
    try:
        result = subprocess.run([sys.executable, "-m", "eofpinn.render", str(run_dir)], capture_output=True,
                                text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None, f"pyvista render timed out after {timeout_s:.0f} s; matplotlib figures only"
    if result.returncode != 0 or not (run_dir / "render.png").is_file():
        reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        return None, f"pyvista off-screen render unavailable ({reason}); matplotlib figures only"
    return run_dir / "render.png", "pyvista render written"


def write_pvd(entries: list[tuple[float, str | Path]], path: str | Path, names: list[str] | None = None) -> Path:
    """A ParaView collection: each (time or index, dataset path relative to the .pvd) as a timestep
    (written all or nothing)."""
    path = Path(path)
    lines = ['<?xml version="1.0"?>', '<VTKFile type="Collection" version="0.1">', "  <Collection>"]
    for i, (time, file) in enumerate(entries):
        name = f" name={quoteattr(names[i])}" if names else ""
        lines.append(f'    <DataSet timestep="{time:g}" part="0" file={quoteattr(str(file))}{name}/>')
    lines += ["  </Collection>", "</VTKFile>", ""]
    return write_text(path, "\n".join(lines))


if __name__ == "__main__":  # pragma: no cover - exercised through render_run's child process
    print(_render(Path(sys.argv[1])))
