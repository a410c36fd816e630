"""Read a case file (TOML), validate every field, and build an immutable `Case`.

Two forms are accepted (see README "Case files"):
- physical: [channel] length/height, [electrolyte], [walls] zeta in volts, [drive] voltage or
  field and pressure drop, all as strings with units;
- dimensionless: a [dimensionless] section giving ε, Ê (or V̂), Pe, Δp̂ directly, [channel]
  length_ratio, and [walls] ζ̂ as plain numbers (positions in units of H). An optional
  [electrolyte] gives the physical embodiment used for output units (default: 1 mM KCl in
  water at 25 °C, H = λ_D/ε).
The drive is never implicit: a physical case needs [drive] with a field or a voltage, a
dimensionless one a field or voltage in [dimensionless] (0 for a flow driven by pressure alone).
Allowed values come from ranges.py; the physical form checks the dimensionless numbers it
derives (ε, ℓ, ζ̂, Ê, Δp̂, Pe, Re) against the same table as the dimensionless form.
Every problem is reported as a `CaseError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eofpinn.cases import scalings as sc
from eofpinn.cases.model import Case, ChargeSegment, Electrolyte, FDSettings, Problem, ZetaSegment
from eofpinn.cases.pinn_settings import load_section as pinn_section
from eofpinn.cases.ranges import CHOICES, DIMENSIONLESS, FD, PHYSICAL, Key, fd_grid_violation, format_si
from eofpinn.cases.shipped import resolve_case, shipped_cases
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
    "relative_permittivity", "temperature", "viscosity", "density", "valence_plus", "valence_minus",
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

DRIVE_HINT = 'give field = "10 kV/m" or voltage = "10 mV" (field = "0 V/m" for a flow driven by pressure alone)'

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

    def raw(self, key: str, what: str, default: Any = None) -> Any:
        """The key's value, its default when absent, or a "missing" error when it has none."""
        if key in self.table:
            return self.table[key]
        if default is None:
            raise self.error(key, f"missing; expected {what}")
        return default

    def quantity(self, key: str) -> float:
        """A physical value written "number unit", in SI, within its PHYSICAL range."""
        spec = PHYSICAL[self.key(key)]
        text = self.raw(key, f"the {spec.meaning} with its unit", spec.default)
        value = parse_quantity(text, spec.kind, self.source, self.key(key))
        if not spec.range.contains(value):
            raise self.error(key, f'must lie in {spec.range}; got "{text}"')
        return value

    def number(self, key: str, spec: Key, default: Any = None) -> float:
        """A plain number within `spec`'s range (default: `spec.default`; None: required)."""
        default = spec.default if default is None else default
        wanted = "an integer" if spec.range.integer else "a number"
        value = self.raw(key, f"{spec.meaning}, {wanted} in {spec.range}", default)
        problem = spec.range.violation(value)
        if problem:
            about = spec.meaning if spec.default is None else f"{spec.meaning}; default {spec.default!r}"
            raise self.error(key, f"{problem} ({about})")
        return value if spec.range.integer else float(value)

    def choice(self, key: str) -> str:
        """One of the words CHOICES allows for this key (its default when absent)."""
        options, default = CHOICES[self.key(key)]
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
        names = ", ".join(shipped_cases())
        raise CaseError(source, "file", f"case file not found; give a path or a shipped case: {names}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseError(source, "file", f"cannot be read: {exc.strerror}") from None
    if b"\0" in data:
        raise CaseError(source, "file", "is a binary file (it contains NUL bytes), not a TOML case file")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Windows editors) is harmless
    except UnicodeDecodeError as exc:
        raise CaseError(source, "file", f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                                        "TOML files must be UTF-8: save it with that encoding") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(source, "file", f"is not valid TOML: {exc}") from None
    for name in doc:
        if name not in SECTIONS:
            raise CaseError(source, name, f"unknown section; allowed: {', '.join(SECTIONS)}")
    return doc


def _valences(section: _Section) -> dict[str, int]:
    """`valence` (a symmetric z:z salt) or `valence_plus` and `valence_minus` (a z₊:z₋ salt);
    z_ref = gcd(z₊, |z₋|) becomes `valence` (physics.md §7)."""
    pair = [key for key in ("valence_plus", "valence_minus") if section.has(key)]
    if not pair:
        return {"valence": section.number("valence", PHYSICAL["electrolyte.valence"])}
    if section.has("valence"):
        raise section.error("valence", "give valence (a symmetric z:z salt) or valence_plus and valence_minus "
                                       "(a z₊:z₋ salt), not both")
    if len(pair) == 1:
        other = "valence_minus" if pair[0] == "valence_plus" else "valence_plus"
        spec = PHYSICAL[section.key(other)]
        raise section.error(other, f"missing; expected {spec.meaning}, an integer in {spec.range} "
                                   f"(given with {pair[0]})")
    plus, minus = section.table["valence_plus"], section.table["valence_minus"]
    for key, value, other in (("valence_plus", plus, "a cation"), ("valence_minus", minus, "an anion")):
        wrong_sign = (isinstance(value, int) and not isinstance(value, bool)
                      and (value < 0 if key == "valence_plus" else value > 0))
        if wrong_sign:
            spec = PHYSICAL[section.key(key)]
            raise section.error(key, f"must lie in {spec.range}; got {value!r}: a salt of two "
                                     f"{'anions' if key == 'valence_plus' else 'cations'} cannot be electroneutral "
                                     f"(it needs {other} too)")
    plus = section.number("valence_plus", PHYSICAL["electrolyte.valence_plus"])
    minus = section.number("valence_minus", PHYSICAL["electrolyte.valence_minus"])
    return {"valence": math.gcd(plus, -minus), "valence_plus": plus, "valence_minus": minus}


def _electrolyte(section: _Section) -> Electrolyte:
    return Electrolyte(
        concentration_mol_m3=section.quantity("concentration"),
        **_valences(section),
        diffusivity_plus_m2_s=section.quantity("diffusivity_plus"),
        diffusivity_minus_m2_s=section.quantity("diffusivity_minus"),
        relative_permittivity=section.number("relative_permittivity", PHYSICAL["electrolyte.relative_permittivity"]),
        temperature_K=section.quantity("temperature"),
        viscosity_Pa_s=section.quantity("viscosity"),
        density_kg_m3=section.quantity("density"),
    )


WALL_VALUE_HINT = 'a zeta potential (a voltage, e.g. "-50 mV") or a surface charge density (e.g. "-60 mC/m^2")'


def _zeta_or_charge(text: Any, source: str, where: str) -> tuple[str, float]:
    """("zeta", ζ in V) or ("charge", σ in C/m²): the unit decides (physics.md §7)."""
    try:
        return "zeta", parse_quantity(text, "voltage", source, where)
    except CaseError as first:
        if "wrong dimension" not in str(first):
            reason = " (unknown unit)" if "unknown unit" in str(first) else ""
            shown = f'"{text}"' if isinstance(text, str) else repr(text)
            raise CaseError(source, where, f"expects {WALL_VALUE_HINT}, written as \"number unit\"; "
                                           f"got {shown}{reason}") from None
    try:
        return "charge", parse_quantity(text, "surface_charge", source, where)
    except CaseError:
        raise CaseError(source, where, f'expects {WALL_VALUE_HINT}; got "{text}" (a unit of neither kind)') from None


class _WallContext:
    """What turns a wall value into a segment's ζ̂ and σ̂: the thermal voltage, the charge scale
    ε_w V_T/H, ε and the valences (for the Grahame ζ̂ of a charge)."""

    def __init__(self, electrolyte: Electrolyte, height: float, debye_ratio: float):
        self.thermal_voltage = sc.thermal_voltage(electrolyte.temperature_K, electrolyte.valence)
        self.charge_scale = sc.charge_scale(electrolyte, height)
        self.debye_ratio = debye_ratio
        self.valences = electrolyte.dimensionless_valences
        self.height = height

    def grahame_zeta_hat(self, charge_hat: float) -> float:
        from eofpinn.physics.electrolyte import grahame_zeta

        return grahame_zeta(charge_hat * self.debye_ratio, *self.valences)


def _wall_segments(section: _Section, wall: str, length: float, physical: bool,
                   context: _WallContext) -> tuple[ZetaSegment, ...]:
    """Parse one wall: a single value (uniform) or a list of [x_start, x_end, value] segments;
    a value is a zeta potential or, by its unit (dimensionless form: `{charge = σ̂}`), a charge."""
    key = section.key(wall)
    value = section.raw(wall, "a zeta potential, a surface charge or a list of [x_start, x_end, value] segments")
    zeta_range = DIMENSIONLESS["zeta_hat"].range
    thermal_voltage, height = context.thermal_voltage, context.height

    def charge_segment(x0: float, x1: float, charge_hat: float, where: str, shown: str) -> ZetaSegment:
        zeta_hat = context.grahame_zeta_hat(charge_hat)
        if not zeta_range.contains(zeta_hat):
            raise CaseError(section.source, where, f"surface charge gives a Grahame ζ̂ = {zeta_hat:.4g}, outside "
                                                   f"{zeta_range} (the zeta range); got {shown}")
        return ChargeSegment(x0, x1, zeta_hat, charge_hat)

    def segment(x0: float, x1: float, item: Any, where: str) -> ZetaSegment:
        if physical:
            kind, number = _zeta_or_charge(item, section.source, where)
            if kind == "charge":
                spec = PHYSICAL["walls.charge"]
                if not spec.range.contains(number):
                    raise CaseError(section.source, where, f'surface charge must lie in {spec.range}; got "{item}"')
                return charge_segment(x0, x1, number / context.charge_scale, where, f'"{item}"')
            zeta_hat = number / thermal_voltage
            if not zeta_range.contains(zeta_hat):
                bound = format_si(zeta_range.high * thermal_voltage, "V")
                raise CaseError(section.source, where, f"zeta must lie in [-{bound}, {bound}] (|ζ̂| = |ζ|/V_T ≤ "
                                                       f"{zeta_range.high:g}, V_T = {format_si(thermal_voltage, 'V')}); "
                                                       f'got "{item}"')
            return ZetaSegment(x0, x1, zeta_hat)
        if isinstance(item, dict):
            if set(item) != {"charge"}:
                raise CaseError(section.source, where, f"expects a number (ζ̂) or {{charge = σ̂}} (σ̂ = σ H/(ε_w V_T)); "
                                                       f"got {item!r}")
            problem = DIMENSIONLESS["charge_hat"].range.violation(item["charge"])
            if problem:
                raise CaseError(section.source, where, f"charge {problem} (σ̂ = σ H/(ε_w V_T))")
            return charge_segment(x0, x1, float(item["charge"]), where, repr(item["charge"]))
        problem = zeta_range.violation(item)
        if problem:
            raise CaseError(section.source, where, f"zeta {problem} (ζ̂ = ζ/V_T)")
        return ZetaSegment(x0, x1, float(item))

    def position_of(item: Any, where: str) -> float:
        if physical:
            return parse_quantity(item, "length", section.source, where) / height
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            raise CaseError(section.source, where, f"position must be a number (units of H); got {item!r}")
        return float(item)

    if not isinstance(value, list):
        return (segment(0.0, length, value, key),)
    if not value:
        raise CaseError(section.source, key, "segment list is empty")
    segments = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(item, list) or len(item) != 3:
            raise CaseError(section.source, where, f"each segment must be [x_start, x_end, zeta or charge]; got {item!r}")
        x0, x1 = position_of(item[0], where), position_of(item[1], where)
        if not x1 > x0:
            raise CaseError(section.source, where, f"x_end must exceed x_start; got {item!r}")
        segments.append(segment(x0, x1, item[2], where))
    _check_coverage(section.source, key, segments, length)
    return tuple(segments)


# Default transition width of a zeta pattern, as a fraction of λ_D (physics.md §3): a quarter of
# the Debye length. Measured on cases/patterned_zeta.toml (FD 161 × 162), the fields then differ
# from those of a sharp jump by 4.5e-2 (ψ), 3.6e-2 (c₊), 2.9e-3 (u), 5.8e-3 (v), 7.5e-2 (p) in
# relative L2 — all at the pattern edges; the flow rate and the recirculation hardly move.
# Narrower transitions make corner structures a few nanometres wide, which only a grid can resolve.
DEFAULT_TRANSITION_DEBYE = 0.25


def _transition(section: _Section, physical: bool, height: float, debye_ratio: float,
                segments: dict[str, tuple[ZetaSegment, ...]]) -> float:
    """w/H of `[walls] transition` (a length, or a number in units of H in the dimensionless
    form); default DEFAULT_TRANSITION_DEBYE λ_D. At most a quarter of the shortest segment, so
    that every segment keeps its own value at its centre."""
    default = DEFAULT_TRANSITION_DEBYE * debye_ratio
    shortest = min(s.x_end - s.x_start for wall in segments.values() for s in wall)
    if not section.has("transition"):
        return min(default, 0.25 * shortest)
    raw = section.raw("transition", "a width")
    if physical:
        width = parse_quantity(raw, "length", section.source, section.key("transition")) / height
        shown = f'"{raw}"'
        bound = format_si(0.25 * shortest * height, "m")
    else:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise section.error("transition", f"must be a number (units of H); got {raw!r}")
        width, shown, bound = float(raw), repr(raw), f"{0.25 * shortest:g}"
    if not 0.0 <= width <= 0.25 * shortest:
        raise section.error("transition", f"must lie in [0, {bound}] (0: sharp jumps; at most a quarter of the "
                                          f"shortest segment); got {shown}")
    return width


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


def _fd_settings(source: str, table: dict[str, Any]) -> FDSettings:
    """The [fd] section: every key within its range in ranges.FD, and a grid that fits in memory."""
    section = _Section(source, "fd", table, tuple(f.name for f in dataclasses.fields(FDSettings)))
    values: dict[str, Any] = {"grid_sequencing": section.flag("grid_sequencing", FDSettings.grid_sequencing)}
    for key, spec in FD.items():
        if section.has(key):
            values[key] = section.number(key, spec)
    settings = FDSettings(**values)
    too_big = fd_grid_violation(settings.nx, settings.ny)
    if too_big:
        raise CaseError(source, "fd", too_big)
    return settings


def _model_options(doc: dict[str, Any], source: str, open_circuit: bool = False) -> dict[str, Any]:
    model = _Section(source, "model", doc.get("model", {}), ("equations", "ion_wall", "inertia"))
    if open_circuit and model.choice("equations") == "paper":
        raise model.error("equations", "must be 'full' for an open circuit (current = 0): the paper model's ion "
                                       "fluxes carry no current; got 'paper'")
    return {
        "equations": model.choice("equations"),
        "ion_wall": model.choice("ion_wall"),
        "inertia": model.flag("inertia", False),
    }


def with_keys(doc: dict[str, Any], changes: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A copy of the parsed case document `doc` with each key of `changes`, a TOML path such as
    "electrolyte.concentration" or "pinn.network.width", set to its value (tables are created
    on the way). The loader then validates the result as if the file had said so."""
    doc = copy.deepcopy(doc)
    for dotted, value in changes.items():
        parts = dotted.split(".")
        if len(parts) < 2 or not all(part.strip() for part in parts):
            raise CaseError(source, dotted, "expected a key by its TOML path, SECTION.KEY "
                                            "(e.g. electrolyte.concentration)")
        if parts[0] not in SECTIONS:
            raise CaseError(source, dotted, f"unknown section [{parts[0]}]; allowed: {', '.join(SECTIONS)}")
        table = doc
        for depth, part in enumerate(parts[:-1], 1):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise CaseError(source, dotted, f"{'.'.join(parts[:depth])} is a value, not a table")
        table[parts[-1]] = value
    return doc


def load_case(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Case:
    """Load and validate a case file, or a shipped case by name (`load_case("quickstart")`).

    `overrides` replace keys of the file by their TOML path before anything is validated
    (`load_case(path, {"electrolyte.concentration": "0.1 mM"})`), so each value is checked
    exactly like the file's own (`with_keys`).

    Returns an immutable `Case`. Raises `CaseError` naming the file, the key and the allowed
    range for anything missing, misspelt, in the wrong unit or out of range.
    """
    path = resolve_case(path)
    source = str(path)
    doc = with_keys(_read_toml(path), overrides or {}, source)
    header = _Section(source, "case", doc.get("case", {}), ("name", "description"))
    name = str(header.table.get("name", path.stem))
    description = str(header.table.get("description", ""))
    builder = _dimensionless_case if "dimensionless" in doc else _physical_case
    problem, electrolyte, scalings, dimensionless = builder(doc, source)
    fd = _fd_settings(source, doc.get("fd", {}))
    pinn, pinn_given, pinn_warnings = pinn_section(source, doc.get("pinn", {}), problem)
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
        pinn_given=pinn_given,
        warnings=scaling_warnings(scalings) + tuple(pinn_warnings),
    )


def _derived(section: _Section, key: str | None, name: str, value: float, fix: str) -> None:
    """Check a dimensionless number the physical form derives against DIMENSIONLESS[name]:
    the error names the physical key (`key`; None: the whole section) and how to fix it."""
    spec = DIMENSIONLESS[name]
    if spec.range.contains(value):
        return
    where = section.name if key is None else section.key(key)
    given = f'; got "{section.table[key]}"' if key is not None else ""
    raise CaseError(section.source, where, f"gives {spec.symbol} = {value:.4g}, outside {spec.range}: {fix}{given}")


def _geometry(channel: _Section, electrolyte: Electrolyte) -> tuple[float, float]:
    """L and H (m), with ε = λ_D/H and ℓ = L/H within their DIMENSIONLESS ranges."""
    length, height = channel.quantity("length"), channel.quantity("height")
    debye = sc.debye_length(electrolyte)
    eps = DIMENSIONLESS["debye_ratio"].range
    _derived(channel, "height", "debye_ratio", debye / height,
             f"with λ_D = {format_si(debye, 'm')} (from [electrolyte]) H must lie in "
             f"[{format_si(debye / eps.high, 'm')}, {format_si(debye / eps.low, 'm')}]")
    ell = DIMENSIONLESS["length_ratio"].range
    _derived(channel, "length", "length_ratio", length / height,
             f"with H = {format_si(height, 'm')}, L must lie in "
             f"[{format_si(ell.low * height, 'm')}, {format_si(ell.high * height, 'm')}]")
    return length, height


def _drive(drive: _Section, length: float, height: float, v_t: float,
           pressure_scale: float) -> tuple[float, float, bool]:
    """The applied field E (V/m), the pressure drop (Pa) and whether the channel is an open
    circuit (`current = "0 A"`: E is then an unknown, fixed by zero net current); a field, a
    voltage or the open-circuit current is required."""
    if drive.has("voltage") and drive.has("field"):
        raise drive.error("field", "give either voltage or field, not both")
    open_circuit = drive.has("current")
    if open_circuit:
        text = drive.table["current"]
        if parse_quantity(text, "current", drive.source, drive.key("current")) != 0.0:
            raise drive.error("current", f'must be {PHYSICAL["drive.current"].range}: a current source is not '
                                         f'supported; got "{text}"')
        applied = next((k for k in ("voltage", "field") if drive.has(k)), None)
        if applied is not None:
            raise drive.error("current", f"an open circuit (current = \"0 A\") leaves the voltage to the solver: "
                                         f"give current or {applied}, not both (current must be "
                                         f"{PHYSICAL['drive.current'].range})")
    elif not (drive.has("voltage") or drive.has("field")):
        raise drive.error("field", f"missing: {DRIVE_HINT}")
    field = 0.0
    if not open_circuit:
        key = "voltage" if drive.has("voltage") else "field"
        field = drive.quantity(key) / (length if key == "voltage" else 1.0)
        largest = DIMENSIONLESS["field_hat"].range.high * v_t / height
        bound = format_si(largest * length, "V") if key == "voltage" else format_si(largest, "V/m")
        _derived(drive, key, "field_hat", field * height / v_t, f"with H = {format_si(height, 'm')}, |{key}| must be "
                                                                 f"at most {bound}")
    pressure_drop = drive.quantity("pressure_drop")
    largest = DIMENSIONLESS["pressure_drop_hat"].range.high * pressure_scale
    _derived(drive, "pressure_drop", "pressure_drop_hat", pressure_drop / pressure_scale,
             f"with P0 = {format_si(pressure_scale, 'Pa')}, |pressure_drop| must be at most {format_si(largest, 'Pa')}")
    return field, pressure_drop, open_circuit


def _physical_case(doc: dict[str, Any], source: str):
    for required in ("channel", "electrolyte", "walls"):
        if required not in doc:
            raise CaseError(source, required, "section missing")
    if "drive" not in doc:
        raise CaseError(source, "drive", f"section missing: {DRIVE_HINT}")
    channel = _Section(source, "channel", doc["channel"], ("length", "height", "ends"))
    ends = channel.choice("ends")
    electrolyte_section = _Section(source, "electrolyte", doc["electrolyte"], ELECTROLYTE_KEYS)
    electrolyte = _electrolyte(electrolyte_section)
    length, height = _geometry(channel, electrolyte)
    v_t = sc.thermal_voltage(electrolyte.temperature_K, electrolyte.valence)
    walls = _Section(source, "walls", doc["walls"], (*WALLS, "transition"))
    ell = length / height
    context = _WallContext(electrolyte, height, sc.debye_length(electrolyte) / height)
    segments = {w: _wall_segments(walls, w, ell, True, context) for w in WALLS}
    pressure_scale = sc.derive_scalings(electrolyte, height, length, (), 0.0).pressure_scale_Pa
    drive = _Section(source, "drive", doc["drive"], ("voltage", "field", "pressure_drop", "current"))
    field, pressure_drop, open_circuit = _drive(drive, length, height, v_t, pressure_scale)
    scalings = _scalings(electrolyte, height, length, segments, field)
    _derived(electrolyte_section, None, "peclet", scalings.peclet, "check the viscosity and the diffusivities")
    _derived(electrolyte_section, None, "reynolds", scalings.reynolds, "check the density and the viscosity")
    problem = Problem(
        debye_ratio=scalings.debye_ratio,
        length_ratio=ell,
        field_hat=scalings.field_hat,
        zeta_bottom=segments["bottom"],
        zeta_top=segments["top"],
        zeta_transition=_transition(walls, True, height, scalings.debye_ratio, segments),
        pressure_drop_hat=pressure_drop / scalings.pressure_scale_Pa,
        peclet=scalings.peclet,
        reynolds=scalings.reynolds,
        delta_plus=electrolyte.diffusivity_plus_m2_s / sc.reference_diffusivity(electrolyte),
        delta_minus=electrolyte.diffusivity_minus_m2_s / sc.reference_diffusivity(electrolyte),
        ends=ends,
        **_valence_options(electrolyte),
        open_circuit=open_circuit,
        **_model_options(doc, source, open_circuit),
    )
    return problem, electrolyte, scalings, False


def _valence_options(electrolyte: Electrolyte) -> dict[str, float]:
    """ẑ± of the dimensionless problem (physics.md §7); left at the defaults ±1 for a symmetric salt."""
    if electrolyte.symmetric:
        return {}
    plus, minus = electrolyte.dimensionless_valences
    return {"valence_plus": plus, "valence_minus": minus}


def _scalings(electrolyte: Electrolyte, height: float, length: float, segments: dict, field: float):
    """derive_scalings for the walls' segments (a charge segment: its σ and its Grahame ζ)."""
    v_t = sc.thermal_voltage(electrolyte.temperature_K, electrolyte.valence)
    charge_scale = sc.charge_scale(electrolyte, height)
    flat = [s for w in WALLS for s in segments[w]]
    zeta_V = tuple(s.zeta_hat * v_t for s in flat)
    charges = tuple(s.charge_hat * charge_scale if s.is_charge else None for s in flat)
    return sc.derive_scalings(electrolyte, height, length, zeta_V, field, charges)


def _dimensionless_field(dim: _Section, ell: float) -> float:
    """Ê from `field`, or from `voltage` as V̂/ℓ; one of the two is required."""
    if dim.has("voltage") and dim.has("field"):
        raise dim.error("field", "give either voltage or field, not both")
    if dim.has("field"):
        return dim.number("field", DIMENSIONLESS["field_hat"])
    if not dim.has("voltage"):
        raise dim.error("field", "missing: give field (Ê) or voltage (V̂ = Ê ℓ); field = 0 for a flow driven by "
                                 "pressure alone")
    field = dim.number("voltage", DIMENSIONLESS["voltage_hat"]) / ell
    _derived(dim, "voltage", "field_hat", field, f"with ℓ = {ell:g}, |voltage| must be at most "
                                                 f"{DIMENSIONLESS['field_hat'].range.high * ell:g}")
    return field


def _dimensionless_case(doc: dict[str, Any], source: str):
    if "walls" not in doc:
        raise CaseError(source, "walls", "section missing")
    for forbidden in ("drive",):
        if forbidden in doc:
            raise CaseError(source, forbidden, "not allowed in a dimensionless case; use [dimensionless]")
    dim = _Section(source, "dimensionless", doc["dimensionless"], (
        "debye_ratio", "field", "voltage", "peclet", "reynolds", "pressure_drop", "delta_plus", "delta_minus",
        "current"))
    channel = _Section(source, "channel", doc.get("channel", {}), ("length_ratio", "ends"))
    ell = channel.number("length_ratio", DIMENSIONLESS["length_ratio"])
    ends = channel.choice("ends")
    eps = dim.number("debye_ratio", DIMENSIONLESS["debye_ratio"])
    open_circuit = dim.has("current")
    if open_circuit:
        dim.number("current", DIMENSIONLESS["current_hat"])
        applied = next((k for k in ("voltage", "field") if dim.has(k)), None)
        if applied is not None:
            raise dim.error("current", f"an open circuit (current = 0) leaves the voltage to the solver: give "
                                       f"current or {applied}, not both (current must be "
                                       f"{DIMENSIONLESS['current_hat'].range})")
    field = 0.0 if open_circuit else _dimensionless_field(dim, ell)
    electrolyte = NOMINAL_ELECTROLYTE
    if "electrolyte" in doc:
        electrolyte = _electrolyte(_Section(source, "electrolyte", doc["electrolyte"], ELECTROLYTE_KEYS))
    height = sc.height_for_debye_ratio(electrolyte, eps)
    v_t = sc.thermal_voltage(electrolyte.temperature_K, electrolyte.valence)
    walls = _Section(source, "walls", doc["walls"], (*WALLS, "transition"))
    segments = {w: _wall_segments(walls, w, ell, False, _WallContext(electrolyte, height, eps)) for w in WALLS}
    nominal = _scalings(electrolyte, height, ell * height, segments, field * v_t / height)
    peclet = dim.number("peclet", DIMENSIONLESS["peclet"], nominal.peclet)
    reynolds = dim.number("reynolds", DIMENSIONLESS["reynolds"], nominal.reynolds)
    scalings = dataclasses.replace(nominal, peclet=peclet, reynolds=reynolds)
    problem = Problem(
        debye_ratio=eps,
        length_ratio=ell,
        field_hat=field,
        zeta_bottom=segments["bottom"],
        zeta_top=segments["top"],
        zeta_transition=_transition(walls, False, height, eps, segments),
        pressure_drop_hat=dim.number("pressure_drop", DIMENSIONLESS["pressure_drop_hat"]),
        peclet=peclet,
        reynolds=reynolds,
        delta_plus=dim.number("delta_plus", DIMENSIONLESS["delta_plus"]),
        delta_minus=dim.number("delta_minus", DIMENSIONLESS["delta_minus"]),
        ends=ends,
        **_valence_options(electrolyte),
        open_circuit=open_circuit,
        **_model_options(doc, source, open_circuit),
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
