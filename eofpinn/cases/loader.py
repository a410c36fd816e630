"""Read a case file (TOML), validate every field, and build an immutable `Case`.

Two forms are accepted (see README "Case files"):
- physical: [channel] length/height, [electrolyte], [walls] zeta in volts, [drive] voltage or
  field and pressure drop, all as strings with units;
- dimensionless: a [dimensionless] section giving ε, Ê (or V̂), Pe, Δp̂ directly, [channel]
  length_ratio, and [walls] ζ̂ as plain numbers (positions in units of H). An optional
  [electrolyte] gives the physical embodiment used for output units (default: 1 mM KCl in
  water at 25 °C, H = λ_D/ε).
Every problem is reported as a `CaseError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

from eofpinn.cases import scalings as sc
from eofpinn.cases.model import MAX_EDGE_STRETCH, Case, Electrolyte, FDSettings, Problem, ZetaSegment
from eofpinn.cases.pinn_settings import load_section as pinn_section
from eofpinn.errors import CaseError
from eofpinn.units import parse_quantity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECTIONS = ("case", "channel", "electrolyte", "walls", "drive", "model", "dimensionless", "fd", "pinn")
WALLS = ("bottom", "top")
ELECTROLYTE_KEYS = (
    "concentration", "valence", "diffusivity_plus", "diffusivity_minus",
    "relative_permittivity", "temperature", "viscosity", "density",
)

# Nominal electrolyte for dimensionless cases: 1 mM KCl in water at 25 °C.
NOMINAL_ELECTROLYTE = Electrolyte(
    concentration_mol_m3=1.0,
    valence=1,
    diffusivity_plus_m2_s=1.96e-9,
    diffusivity_minus_m2_s=2.03e-9,
    relative_permittivity=78.5,
    temperature_K=298.15,
    viscosity_Pa_s=0.89e-3,
    density_kg_m3=997.0,
)

# Physical ranges accepted (a value outside is almost surely a typo); see physics.md §6.
MAX_ZETA_V = 0.5
MAX_ZETA_HAT = 20.0


class _Section:
    """One TOML table with its name, so every error can name `[section.key]`."""

    def __init__(self, source: str, name: str, table: dict[str, Any], allowed: tuple[str, ...]):
        self.source, self.name, self.table = source, name, table
        if not isinstance(table, dict):
            raise CaseError(source, name, "must be a table (a [section] header)")
        for key in table:
            if key not in allowed:
                raise CaseError(source, f"{name}.{key}", f"unknown key; allowed: {', '.join(allowed)}")

    def key(self, key: str) -> str:
        return f"{self.name}.{key}"

    def error(self, key: str, message: str) -> CaseError:
        return CaseError(self.source, self.key(key), message)

    def has(self, key: str) -> bool:
        return key in self.table

    def raw(self, key: str, what: str, default: Any = None, required: bool = True) -> Any:
        if key in self.table:
            return self.table[key]
        if required and default is None:
            raise self.error(key, f"missing; expected {what}")
        return default

    def quantity(self, key: str, kind: str, low: float, high: float, unit_hint: str,
                 default: str | None = None, open_low: bool = True) -> float:
        text = self.raw(key, f"a {kind} with its unit", default)
        value = parse_quantity(text, kind, self.source, self.key(key))
        too_low = value <= low if open_low else value < low
        if too_low or value > high:
            bracket = "(" if open_low else "["
            raise self.error(key, f"must lie in {bracket}{unit_hint}]; got \"{text}\"")
        return value

    def number(self, key: str, low: float, high: float, default: float | None = None,
               open_low: bool = False) -> float:
        value = self.raw(key, f"a number in [{low}, {high}]", default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"must be a number in [{low}, {high}]; got {value!r}")
        too_low = value <= low if open_low else value < low
        if too_low or value > high or not math.isfinite(value):
            bracket = "(" if open_low else "["
            raise self.error(key, f"must lie in {bracket}{low}, {high}]; got {value!r}")
        return float(value)

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.table.get(key, default)
        if value not in options:
            raise self.error(key, f"must be one of {', '.join(repr(o) for o in options)}; got {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false; got {value!r}")
        return value


def _read_toml(path: Path) -> dict[str, Any]:
    source = str(path)
    if not path.is_file():
        raise CaseError(source, "file", "case file not found")
    try:
        with path.open("rb") as handle:
            doc = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(source, "file", f"is not valid TOML: {exc}") from None
    for name in doc:
        if name not in SECTIONS:
            raise CaseError(source, name, f"unknown section; allowed: {', '.join(SECTIONS)}")
    return doc


def _electrolyte(section: _Section) -> Electrolyte:
    valence = section.raw("valence", "an integer 1–4")
    if isinstance(valence, bool) or not isinstance(valence, int) or not 1 <= valence <= 4:
        raise section.error("valence", f"must be an integer in [1, 4] (symmetric z:z salt); got {valence!r}")
    return Electrolyte(
        concentration_mol_m3=section.quantity("concentration", "concentration", 0.0, 1e4, "0, 10 M"),
        valence=valence,
        diffusivity_plus_m2_s=section.quantity("diffusivity_plus", "diffusivity", 0.0, 1e-6, "0, 1e-6 m^2/s"),
        diffusivity_minus_m2_s=section.quantity("diffusivity_minus", "diffusivity", 0.0, 1e-6, "0, 1e-6 m^2/s"),
        relative_permittivity=section.number("relative_permittivity", 1.0, 1000.0),
        temperature_K=section.quantity("temperature", "temperature", 200.0, 500.0, "200 K, 500 K"),
        viscosity_Pa_s=section.quantity("viscosity", "viscosity", 0.0, 1e3, "0, 1000 Pa*s"),
        density_kg_m3=section.quantity("density", "density", 0.0, 1e5, "0, 1e5 kg/m^3"),
    )


def _wall_segments(section: _Section, wall: str, length: float, physical: bool,
                   thermal_voltage: float, height: float) -> tuple[ZetaSegment, ...]:
    """Parse one wall: a single zeta (uniform) or a list of [x_start, x_end, zeta] segments."""
    key = section.key(wall)
    value = section.raw(wall, "a zeta potential or a list of [x_start, x_end, zeta] segments")

    def zeta_of(item: Any, where: str) -> float:
        if physical:
            zeta = parse_quantity(item, "voltage", section.source, where)
            if abs(zeta) > MAX_ZETA_V:
                raise CaseError(section.source, where, f'zeta must lie in [-500 mV, 500 mV]; got "{item}"')
            return zeta / thermal_voltage
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise CaseError(section.source, where, f"zeta must be a number (ζ̂ = ζ/V_T); got {item!r}")
        if abs(item) > MAX_ZETA_HAT:
            raise CaseError(section.source, where, f"zeta must lie in [-{MAX_ZETA_HAT}, {MAX_ZETA_HAT}]; got {item!r}")
        return float(item)

    def position_of(item: Any, where: str) -> float:
        if physical:
            return parse_quantity(item, "length", section.source, where) / height
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise CaseError(section.source, where, f"position must be a number (units of H); got {item!r}")
        return float(item)

    if not isinstance(value, list):
        return (ZetaSegment(0.0, length, zeta_of(value, key)),)
    if not value:
        raise CaseError(section.source, key, "segment list is empty")
    segments = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(item, list) or len(item) != 3:
            raise CaseError(section.source, where, f"each segment must be [x_start, x_end, zeta]; got {item!r}")
        x0, x1 = position_of(item[0], where), position_of(item[1], where)
        if not x1 > x0:
            raise CaseError(section.source, where, f"x_end must exceed x_start; got {item!r}")
        segments.append(ZetaSegment(x0, x1, zeta_of(item[2], where)))
    _check_coverage(section.source, key, segments, length)
    return tuple(segments)


def _check_coverage(source: str, key: str, segments: list[ZetaSegment], length: float) -> None:
    tol = 1e-9 * length
    if abs(segments[0].x_start) > tol:
        raise CaseError(source, f"{key}[0]", "first segment must start at x = 0")
    for i in range(1, len(segments)):
        gap = segments[i].x_start - segments[i - 1].x_end
        if gap > tol:
            raise CaseError(source, f"{key}[{i}]", "segments leave a gap: each must start where the previous ends")
        if gap < -tol:
            raise CaseError(source, f"{key}[{i}]", "segments overlap: each must start where the previous ends")
    if abs(segments[-1].x_end - length) > tol:
        raise CaseError(source, f"{key}[{len(segments) - 1}]", "last segment must end at the channel length")


def _settings(source: str, name: str, table: dict[str, Any], cls: type) -> Any:
    """Map a solver section onto its settings dataclass, checking names and types."""
    allowed = tuple(f.name for f in dataclasses.fields(cls))
    section = _Section(source, name, table, allowed)
    defaults = cls()
    values = {}
    for key, value in table.items():
        default = getattr(defaults, key)
        expected = type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list):
            value = tuple(float(v) for v in value)
        if type(value) is not expected:
            raise section.error(key, f"must be of type {expected.__name__} (default {default!r}); got {value!r}")
        if expected in (int, float) and value < 0:
            raise section.error(key, f"must be non-negative; got {value!r}")
        values[key] = value
    return cls(**values)


def _model_options(doc: dict[str, Any], source: str) -> dict[str, Any]:
    model = _Section(source, "model", doc.get("model", {}), ("equations", "ion_wall", "inertia"))
    return {
        "equations": model.choice("equations", ("full", "paper"), "full"),
        "ion_wall": model.choice("ion_wall", ("no_flux", "boltzmann"), "no_flux"),
        "inertia": model.flag("inertia", False),
    }


def load_case(path: str | Path) -> Case:
    """Load and validate a case file; raises `CaseError` naming file, key and allowed range."""
    path = Path(path)
    source = str(path)
    doc = _read_toml(path)
    header = _Section(source, "case", doc.get("case", {}), ("name", "description"))
    name = str(header.table.get("name", path.stem))
    description = str(header.table.get("description", ""))
    builder = _dimensionless_case if "dimensionless" in doc else _physical_case
    problem, electrolyte, scalings, dimensionless = builder(doc, source)
    fd = _settings(source, "fd", doc.get("fd", {}), FDSettings)
    if fd.edge_stretch > MAX_EDGE_STRETCH:
        raise CaseError(source, "fd.edge_stretch", f"must lie in [0, {MAX_EDGE_STRETCH:g}] (0 = uniform x grid, "
                                                   f"2-3 = strong clustering at the zeta jumps); got {fd.edge_stretch!r}")
    pinn, pinn_warnings = pinn_section(source, doc.get("pinn", {}))
    return Case(
        name=name,
        source=source,
        description=description,
        problem=problem,
        electrolyte=electrolyte,
        scalings=scalings,
        dimensionless_input=dimensionless,
        fd=fd,
        pinn=pinn,
        warnings=scaling_warnings(scalings) + tuple(pinn_warnings),
    )


def _physical_case(doc: dict[str, Any], source: str):
    for required in ("channel", "electrolyte", "walls"):
        if required not in doc:
            raise CaseError(source, required, "section missing")
    channel = _Section(source, "channel", doc["channel"], ("length", "height", "ends"))
    length = channel.quantity("length", "length", 0.0, 1.0, "0, 1 m")
    height = channel.quantity("height", "length", 0.0, 1e-2, "0, 1 cm")
    ends = channel.choice("ends", ("periodic", "reservoir"), "periodic")
    electrolyte = _electrolyte(_Section(source, "electrolyte", doc["electrolyte"], ELECTROLYTE_KEYS))
    v_t = sc.thermal_voltage(electrolyte.temperature_K, electrolyte.valence)
    walls = _Section(source, "walls", doc["walls"], WALLS)
    ell = length / height
    segments = {w: _wall_segments(walls, w, ell, True, v_t, height) for w in WALLS}
    drive = _Section(source, "drive", doc.get("drive", {}), ("voltage", "field", "pressure_drop"))
    if drive.has("voltage") and drive.has("field"):
        raise drive.error("field", "give either voltage or field, not both")
    if drive.has("voltage"):
        field = drive.quantity("voltage", "voltage", -1e4, 1e4, "-10 kV, 10 kV", open_low=False) / length
    else:
        field = drive.quantity("field", "field", -1e8, 1e8, "-100 MV/m, 100 MV/m", default="0 V/m", open_low=False)
    pressure_drop = drive.quantity("pressure_drop", "pressure", -1e9, 1e9, "-1 GPa, 1 GPa",
                                   default="0 Pa", open_low=False)
    zeta_V = tuple(s.zeta_hat * v_t for w in WALLS for s in segments[w])
    scalings = sc.derive_scalings(electrolyte, height, length, zeta_V, field)
    problem = Problem(
        debye_ratio=scalings.debye_ratio,
        length_ratio=ell,
        field_hat=scalings.field_hat,
        zeta_bottom=segments["bottom"],
        zeta_top=segments["top"],
        pressure_drop_hat=pressure_drop / scalings.pressure_scale_Pa,
        peclet=scalings.peclet,
        reynolds=scalings.reynolds,
        delta_plus=electrolyte.diffusivity_plus_m2_s / sc.reference_diffusivity(electrolyte),
        delta_minus=electrolyte.diffusivity_minus_m2_s / sc.reference_diffusivity(electrolyte),
        ends=ends,
        **_model_options(doc, source),
    )
    return problem, electrolyte, scalings, False


def _dimensionless_case(doc: dict[str, Any], source: str):
    if "walls" not in doc:
        raise CaseError(source, "walls", "section missing")
    for forbidden in ("drive",):
        if forbidden in doc:
            raise CaseError(source, forbidden, "not allowed in a dimensionless case; use [dimensionless]")
    dim = _Section(source, "dimensionless", doc["dimensionless"], (
        "debye_ratio", "field", "voltage", "peclet", "reynolds", "pressure_drop", "delta_plus", "delta_minus"))
    channel = _Section(source, "channel", doc.get("channel", {}), ("length_ratio", "ends"))
    ell = channel.number("length_ratio", 0.0, 1e4, open_low=True)
    ends = channel.choice("ends", ("periodic", "reservoir"), "periodic")
    eps = dim.number("debye_ratio", 0.0, 10.0, open_low=True)
    if dim.has("voltage") and dim.has("field"):
        raise dim.error("field", "give either voltage or field, not both")
    field = dim.number("voltage", -1e6, 1e6) / ell if dim.has("voltage") else dim.number("field", -1e6, 1e6, 0.0)
    electrolyte = NOMINAL_ELECTROLYTE
    if "electrolyte" in doc:
        electrolyte = _electrolyte(_Section(source, "electrolyte", doc["electrolyte"], ELECTROLYTE_KEYS))
    height = sc.height_for_debye_ratio(electrolyte, eps)
    v_t = sc.thermal_voltage(electrolyte.temperature_K, electrolyte.valence)
    walls = _Section(source, "walls", doc["walls"], WALLS)
    segments = {w: _wall_segments(walls, w, ell, False, v_t, height) for w in WALLS}
    zeta_V = tuple(s.zeta_hat * v_t for w in WALLS for s in segments[w])
    nominal = sc.derive_scalings(electrolyte, height, ell * height, zeta_V, field * v_t / height)
    peclet = dim.number("peclet", 0.0, 1e6, nominal.peclet)
    reynolds = dim.number("reynolds", 0.0, 1e6, nominal.reynolds)
    scalings = dataclasses.replace(nominal, peclet=peclet, reynolds=reynolds)
    problem = Problem(
        debye_ratio=eps,
        length_ratio=ell,
        field_hat=field,
        zeta_bottom=segments["bottom"],
        zeta_top=segments["top"],
        pressure_drop_hat=dim.number("pressure_drop", -1e9, 1e9, 0.0),
        peclet=peclet,
        reynolds=reynolds,
        delta_plus=dim.number("delta_plus", 0.0, 1e3, 1.0, open_low=True),
        delta_minus=dim.number("delta_minus", 0.0, 1e3, 1.0, open_low=True),
        ends=ends,
        **_model_options(doc, source),
    )
    return problem, electrolyte, scalings, True


def scaling_warnings(s) -> tuple[str, ...]:
    """Physics warnings (physics.md §6): not errors, but a user must see them."""
    out = []
    if s.debye_ratio < 0.005:
        out.append(
            f"Debye ratio ε = {s.debye_ratio:.3g} < 0.005: the double layer is too thin to resolve; "
            "consider a Helmholtz–Smoluchowski slip-velocity model instead"
        )
    if s.reynolds > 0.1:
        out.append(f"Reynolds number {s.reynolds:.3g} > 0.1: the Stokes (creeping-flow) model may be inaccurate")
    big = [z for z in s.zeta_hat if abs(z) > 8]
    if big:
        out.append(f"|ζ̂| = {max(abs(z) for z in big):.3g} > 8: far beyond the range where solvers are validated")
    return tuple(out)
