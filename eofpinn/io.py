"""Writers and readers for solutions: `fields.npz`, `fields.vts` (ParaView), `summary.json`.

One entry point, `write(solution, path)`, chooses the format by suffix; `write_run` writes all
three plus a copy of the case file into a run directory, and `read_run` loads it back.

VTK layout: a structured grid with points in the length unit that suits the channel height
(`length_unit`: nm below 1 µm, µm below 1 mm, ...; z = 0), point data in SI units with the
unit in each array name (`potential_V`, `c_plus_mol_m3`, `velocity_m_s` as a 3-vector,
`pressure_Pa`, ...) and the dimensionless fields as `*_nondim`. Field data carries the case name,
the length unit (`length_unit`, e.g. "nm", and `length_unit_m`, metres per unit) and the case's
scalings so a ParaView user can see them in the Information panel.

Why not metres: ParaView shades a surface with normals its fragment shader derives from
screen-space derivatives of float32 positions; for a nanochannel in metres (~1e-10 m per
pixel) their cross product underflows and the channel renders as a black box (ParaView 5.11,
as soon as lighting is on — the default). In nm the same file renders normally.
"""

from __future__ import annotations

import errno
import importlib
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eofpinn.atomic import replacing, write_text
from eofpinn.cases import load_with_overrides, with_field
from eofpinn.cases.model import Case
from eofpinn.cases.scalings import FARADAY
from eofpinn.errors import EofpinnError
from eofpinn.physics.observables import observables
from eofpinn.solution import FIELD_NAMES, Solution

RUN_FILES = ("fields.npz", "fields.vts", "summary.json")


@dataclass(frozen=True)
class LengthUnit:
    name: str  # ASCII, for VTK field data and array names
    label: str  # for figure axes
    metres: float  # metres per unit


# (unit, used for channel heights below this many metres)
LENGTH_UNITS = (
    (LengthUnit("nm", "nm", 1e-9), 1e-6),
    (LengthUnit("um", "µm", 1e-6), 1e-3),
    (LengthUnit("mm", "mm", 1e-3), 1.0),
    (LengthUnit("m", "m", 1.0), math.inf),
)


def length_unit(height_m: float) -> LengthUnit:
    """The unit for lengths in outputs: nm for heights below 1 µm, µm below 1 mm, mm below 1 m."""
    return next(unit for unit, below in LENGTH_UNITS if height_m < below)


def physical_fields(solution: Solution) -> dict[str, np.ndarray]:
    """Fields in SI units, keyed by VTK array name (unit in the name); arrays shaped (nx, ny[, 3])."""
    s = solution.case.scalings
    e = solution.case.electrolyte
    f = solution.fields
    c0 = s.concentration_scale_mol_m3
    velocity = np.stack([f["u"], f["v"], np.zeros_like(f["u"])], axis=-1) * s.velocity_scale_m_s
    return {
        "potential_V": f["phi"] * s.thermal_voltage_V,
        "edl_potential_V": f["psi"] * s.thermal_voltage_V,
        "c_plus_mol_m3": f["c_plus"] * (c0 if e.symmetric else s.concentration_plus_mol_m3),
        "c_minus_mol_m3": f["c_minus"] * (c0 if e.symmetric else s.concentration_minus_mol_m3),
        "charge_density_C_m3": (e.valence * FARADAY * c0 * (f["c_plus"] - f["c_minus"]) if e.symmetric
                                else FARADAY * e.charge_concentration_mol_m3 * (f["c_plus"] - f["c_minus"])),
        "velocity_m_s": velocity,
        "pressure_Pa": f["p"] * s.pressure_scale_Pa,
        "excess_pressure_Pa": solution.excess_pressure * s.pressure_scale_Pa,
    }


def write_npz(solution: Solution, path: Path) -> None:
    with replacing(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, x=solution.x, y=solution.y, **{k: solution.fields[k] for k in FIELD_NAMES})


def import_vtk_writer() -> None:
    """Load what `write_vts` imports lazily (pyvista, VTK: slow to import, so not at start-up),
    for a caller that must not import a C++ extension later (`runs.open_run`)."""
    for module in ("pyvista", "vtkmodules.vtkCommonCore", "vtkmodules.vtkCommonMisc", "vtkmodules.vtkIOXML"):
        importlib.import_module(module)


def write_vts(solution: Solution, path: Path) -> None:
    import pyvista as pv

    height = solution.case.scalings.height_m
    unit = length_unit(height)
    X, Y = solution.mesh
    grid = pv.StructuredGrid(
        (X * height / unit.metres)[:, :, None], (Y * height / unit.metres)[:, :, None], np.zeros_like(X)[:, :, None]
    )
    grid.GetPoints().GetData().SetName(f"points_{unit.name}")

    def points(array: np.ndarray) -> np.ndarray:
        # VTK orders points with x fastest: Fortran order over (nx, ny).
        if array.ndim == 3:
            return array.reshape(-1, 3, order="F")
        return array.ravel(order="F")

    for name, array in physical_fields(solution).items():
        grid.point_data[name] = points(array)
    for name in FIELD_NAMES:
        grid.point_data[f"{name}_nondim"] = points(solution.fields[name])
    grid.field_data["case"] = [solution.case.name]
    grid.field_data["solver"] = [solution.solver]
    grid.field_data["length_unit"] = [unit.name]
    grid.field_data["length_unit_m"] = [unit.metres]
    for key, value in solution.case.scalings.as_dict().items():
        grid.field_data[key] = np.atleast_1d(np.asarray(value, dtype=float))
    with replacing(path) as tmp:
        write_vtk_xml(grid, tmp)


VTK_TAIL = b"</VTKFile>\n"


def write_vtk_xml(grid, path: Path) -> None:
    """Write a vtkStructuredGrid to `path` (.vts) with VTK's XML writer and check that it worked.

    On a failed write (a full disk) VTK returns 0 and sets an error code, logs ~20 lines to
    stderr and leaves the truncated file; pyvista's `save` returns normally. So VTK's messages
    are silenced here, and the return value, the error code (the errno of a system error) and
    the file's end (every complete VTK XML file ends with `</VTKFile>`) are checked; a failure
    is an OSError, for `replacing` to remove the file and report it.
    """
    from vtkmodules.vtkCommonCore import vtkObject
    from vtkmodules.vtkCommonMisc import vtkErrorCode
    from vtkmodules.vtkIOXML import vtkXMLStructuredGridWriter

    writer = vtkXMLStructuredGridWriter()
    writer.SetInputData(grid)
    writer.SetFileName(str(path))
    writer.SetDataModeToAppended()
    writer.EncodeAppendedDataOff()
    writer.SetCompressorTypeToZLib()
    display = vtkObject.GetGlobalWarningDisplay()
    vtkObject.GlobalWarningDisplayOff()
    try:
        ok = writer.Write()
    finally:
        vtkObject.SetGlobalWarningDisplay(display)
    code = writer.GetErrorCode()
    if not ok or code:
        if 0 < code < vtkErrorCode.FirstVTKErrorCode:  # VTK stores errno on a system error
            raise OSError(code, os.strerror(code))
        raise OSError(errno.EIO, f"VTK writer failed ({vtkErrorCode.GetStringFromErrorCode(code)})")
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - len(VTK_TAIL)))
        if handle.read() != VTK_TAIL:
            raise OSError(errno.EIO, "VTK wrote an incomplete file")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def flow_rate(solution: Solution) -> float:
    """Dimensionless flow rate per unit depth, ∫u dy, averaged over the channel length."""
    per_station = np.trapezoid(solution["u"], solution.y, axis=1)
    return float(np.mean(per_station))


def summary(solution: Solution) -> dict:
    case, p = solution.case, solution.case.problem
    s = case.scalings
    q_hat = flow_rate(solution)
    return _jsonable({
        "case": case.name,
        "case_source": case.source,
        "description": case.description,
        "solver": solution.solver,
        "grid": {"nx": solution.x.size, "ny": solution.y.size},
        "scalings": s.as_dict(),
        "problem": {
            "debye_ratio": p.debye_ratio, "length_ratio": p.length_ratio, "field_hat": p.field_hat,
            "pressure_drop_hat": p.pressure_drop_hat, "peclet": p.peclet, "reynolds": p.reynolds,
            "delta_plus": p.delta_plus, "delta_minus": p.delta_minus, "ends": p.ends,
            "ion_wall": p.ion_wall, "equations": p.equations, "inertia": p.inertia,
            "zeta_bottom": [s_.__dict__ for s_ in p.zeta_bottom], "zeta_top": [s_.__dict__ for s_ in p.zeta_top],
            "valence_plus": p.valence_plus, "valence_minus": p.valence_minus, "open_circuit": p.open_circuit,
        },
        "field_ranges": {k: [float(np.min(v)), float(np.max(v))] for k, v in solution.fields.items()},
        "flow_rate_hat": q_hat,
        "flow_rate_per_depth_m2_s": q_hat * s.velocity_scale_m_s * s.height_m,
        "mean_velocity_m_s": q_hat * s.velocity_scale_m_s,
        "observables": observables(solution),
        "warnings": list(case.warnings),
        "info": solution.info,
    })


def write_summary(solution: Solution, path: Path) -> None:
    write_text(path, json.dumps(summary(solution), indent=2) + "\n")


WRITERS = {".npz": write_npz, ".vts": write_vts, ".json": write_summary}


def write(solution: Solution, path: str | Path) -> Path:
    """Write `solution` to `path`; the format follows the suffix (.npz, .vts, .json)."""
    path = Path(path)
    try:
        writer = WRITERS[path.suffix]
    except KeyError:
        raise EofpinnError(f"{path}: unknown output format; use one of {', '.join(WRITERS)}") from None
    writer(solution, path)
    return path


def write_run(solution: Solution, out_dir: str | Path) -> list[Path]:
    """Write fields.npz, fields.vts, a copy of the case file and summary.json into `out_dir`.

    summary.json comes last: its presence marks a complete run (`eofpinn sweep` skips such runs).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write(solution, out_dir / name) for name in ("fields.npz", "fields.vts")]
    source, copy = Path(solution.case.source), out_dir / "case.toml"
    if source.is_file() and source.resolve() != copy.resolve():
        with replacing(copy) as tmp:
            shutil.copyfile(source, tmp)
        written.append(copy)
    written.append(write(solution, out_dir / "summary.json"))
    return written


def read_run_case(run_dir: str | Path) -> Case:
    """The case a run directory solved: its case.toml copy with the overrides in summary.json
    (`--set` or a sweep's parameters: dimensionless names and case-file keys by TOML path)."""
    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    info = json.loads(summary_path.read_text()).get("info", {}) if summary_path.is_file() else {}
    return load_with_overrides(str(run_dir / "case.toml"), info.get("overrides") or {}, source="summary.json overrides")


def read_run(run_dir: str | Path) -> Solution:
    """Load a run directory written by `write_run` (needs its case.toml copy)."""
    run_dir = Path(run_dir)
    npz_path, case_path = run_dir / "fields.npz", run_dir / "case.toml"
    for needed in (npz_path, case_path):
        if not needed.is_file():
            raise EofpinnError(f"{run_dir}: not a run directory ({needed.name} missing)")
    with np.load(npz_path) as npz:  # closed here: the arrays are read into memory
        data = {key: npz[key] for key in ("x", "y", *FIELD_NAMES)}
    info = {}
    summary_path = run_dir / "summary.json"
    solver = "unknown"
    if summary_path.is_file():
        meta = json.loads(summary_path.read_text())
        solver, info = meta.get("solver", solver), meta.get("info", {})
    case = read_run_case(run_dir)
    if case.problem.open_circuit and info.get("open_circuit_field_hat") is not None:
        case = with_field(case, info["open_circuit_field_hat"])  # the field the solver found
    return Solution(
        case=case, x=data["x"], y=data["y"],
        fields={k: data[k] for k in FIELD_NAMES}, solver=solver, info=info,
    )
