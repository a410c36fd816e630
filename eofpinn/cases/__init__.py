"""Case files → validated, immutable `Case` objects with their derived scalings."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from eofpinn.cases import scalings as _sc
from eofpinn.errors import CaseError
from eofpinn.cases.loader import NOMINAL_ELECTROLYTE, load_case, scaling_warnings, tomllib
from eofpinn.cases.pinn_settings import resolve
from eofpinn.cases.ranges import DIMENSIONLESS
from eofpinn.cases.model import (
    Case,
    ChargeSegment,
    Electrolyte,
    FDSettings,
    PINNSettings,
    Problem,
    Scalings,
    ZetaSegment,
)

__all__ = [
    "Case", "ChargeSegment", "Electrolyte", "FDSettings", "PINNSettings", "Problem", "Scalings", "ZetaSegment",
    "load_case", "load_with_overrides", "case_from_problem", "straight_problem", "with_grahame_zetas", "with_field",
    "with_overrides", "parse_overrides", "check_override", "parse_setting_overrides", "parse_value", "with_settings",
    "OVERRIDABLE",
]


def straight_problem(debye_ratio: float, zeta_hat: float, field_hat: float = 1.0, length_ratio: float = 1.0,
                     **options) -> Problem:
    """A straight channel with uniform ζ̂ on both walls (physics.md §4); options go to `Problem`."""
    wall = (ZetaSegment(0.0, length_ratio, zeta_hat),)
    return Problem(debye_ratio=debye_ratio, length_ratio=length_ratio, field_hat=field_hat,
                   zeta_bottom=wall, zeta_top=wall, **options)


def case_from_problem(problem: Problem, name: str = "test", fd: FDSettings | None = None,
                      pinn: PINNSettings | None = None, electrolyte: Electrolyte = NOMINAL_ELECTROLYTE) -> Case:
    """Wrap a dimensionless problem into a Case, embodied physically by `electrolyte` (H = λ_D/ε).

    The problem's valences win: an electrolyte whose ẑ± differ from them is given the problem's
    (z± = ẑ±, z_ref = gcd), so that the embodiment is the problem's salt."""
    if electrolyte.dimensionless_valences != problem.valences:
        plus, minus = round(problem.valence_plus), round(problem.valence_minus)
        electrolyte = dataclasses.replace(electrolyte, valence=math.gcd(plus, -minus), valence_plus=plus,
                                          valence_minus=minus)
    height = _sc.height_for_debye_ratio(electrolyte, problem.debye_ratio)
    v_t = _sc.thermal_voltage(electrolyte.temperature_K, electrolyte.valence)
    segments = problem.zeta_bottom + problem.zeta_top
    zeta_V = tuple(s.zeta_hat * v_t for s in segments)
    charge_scale = _sc.charge_scale(electrolyte, height)
    charges = tuple(s.charge_hat * charge_scale if s.is_charge else None for s in segments)
    scalings = _sc.derive_scalings(electrolyte, height, problem.length_ratio * height, zeta_V,
                                   problem.field_hat * v_t / height, charges)
    scalings = dataclasses.replace(scalings, peclet=problem.peclet, reynolds=problem.reynolds)
    return Case(name=name, source="<in memory>", description="", problem=problem, electrolyte=electrolyte,
                scalings=scalings, dimensionless_input=True, fd=fd or FDSettings(), pinn=pinn or PINNSettings(),
                warnings=scaling_warnings(scalings))


def with_grahame_zetas(problem: Problem) -> Problem:
    """`problem` with every charge segment's ζ̂ set to the Grahame ζ̂ of its σ̂ at the problem's ε
    (after ε changed); ζ segments are kept."""
    from eofpinn.physics.electrolyte import grahame_zeta

    def refreshed(s: ZetaSegment) -> ZetaSegment:
        if not s.is_charge:
            return s
        return dataclasses.replace(s, zeta_hat=grahame_zeta(s.charge_hat * problem.debye_ratio, *problem.valences))

    return dataclasses.replace(problem, zeta_bottom=tuple(map(refreshed, problem.zeta_bottom)),
                               zeta_top=tuple(map(refreshed, problem.zeta_top)))


def with_field(case: Case, field_hat: float) -> Case:
    """`case` with the applied field set to Ê = `field_hat` (e.g. an open circuit's solved field),
    its scalings (E, the Helmholtz–Smoluchowski velocities) updated to match."""
    s, e = case.scalings, case.electrolyte
    field_V_m = field_hat * s.thermal_voltage_V / s.height_m
    hs = tuple(-_sc.permittivity(e) * z * s.thermal_voltage_V * field_V_m / e.viscosity_Pa_s for z in s.zeta_hat)
    scalings = dataclasses.replace(s, field_hat=field_hat, field_V_m=field_V_m, helmholtz_smoluchowski_m_s=hs)
    return dataclasses.replace(case, problem=dataclasses.replace(case.problem, field_hat=field_hat), scalings=scalings)


# Dimensionless parameters a study may override (`eofpinn solve --set`, `eofpinn sweep --param`) by
# name; any key of the case file may be overridden by its TOML path (`load_with_overrides`).
OVERRIDABLE = ("debye_ratio", "zeta_hat", "field_hat", "peclet", "pressure_drop_hat", "length_ratio")


def check_override(name: str, value: float, source: str = "--set") -> float:
    """`value` if `name` may be overridden and `value` lies in its range (the loader's range,
    ranges.DIMENSIONLESS); else a CaseError naming `source`, the name and the range."""
    if name not in OVERRIDABLE:
        raise CaseError(source, name, f"cannot be overridden; allowed: {', '.join(OVERRIDABLE)}, or a case-file "
                                      "key by its TOML path (e.g. electrolyte.concentration)")
    spec = DIMENSIONLESS[name]
    problem = spec.range.violation(value)
    if problem:
        raise CaseError(source, name, f"{problem} ({spec.meaning})")
    return float(value)


def with_overrides(case: Case, overrides: dict[str, float], source: str = "--set") -> Case:
    """A copy of `case` with dimensionless parameters replaced (for studies and sweeps).

    `zeta_hat` sets every wall segment to that value. The physical embodiment keeps the
    electrolyte and takes H = λ_D/ε. Raises CaseError (naming `source`) for unknown names and
    values outside the range a case file may give.
    """
    if not overrides:
        return case
    changes: dict = {}
    for name, value in overrides.items():
        value = check_override(name, value, source)
        if name == "zeta_hat":  # every segment becomes a ζ segment of that value
            for wall in ("zeta_bottom", "zeta_top"):
                changes[wall] = tuple(ZetaSegment(s.x_start, s.x_end, float(value))
                                      for s in getattr(case.problem, wall))
        elif name == "length_ratio":
            scale = float(value) / case.problem.length_ratio
            changes[name] = float(value)
            for wall in ("zeta_bottom", "zeta_top"):
                changes[wall] = tuple(dataclasses.replace(s, x_start=s.x_start * scale, x_end=s.x_end * scale)
                                      for s in changes.get(wall, getattr(case.problem, wall)))
        else:
            changes[name] = float(value)
    problem = with_grahame_zetas(dataclasses.replace(case.problem, **changes))
    given = _given_keys(case)
    pinn = case.pinn if given is None else resolve(given, problem)  # the recipe of the new walls
    rebuilt = case_from_problem(problem, name=case.name, fd=case.fd, pinn=pinn, electrolyte=case.electrolyte)
    return dataclasses.replace(rebuilt, source=case.source, description=case.description, pinn_given=given)


def _given_keys(case: Case) -> Mapping[str, object] | None:
    """The [pinn] keys `case` gave, if its settings are still what they resolve to (a script that
    replaced `case.pinn` directly made its settings final: None)."""
    if case.pinn_given is None or resolve(case.pinn_given, case.problem) != case.pinn:
        return None
    return case.pinn_given


SETTINGS_PREFIX = "pinn."


def load_with_overrides(case: str, overrides: Mapping[str, object] | None = None,
                        source: str | Mapping[str, str] = "--set") -> Case:
    """Load a case file (or shipped case) with `overrides` applied, each validated exactly like
    the file's own values:

    - a key by its TOML path ("electrolyte.concentration": "0.1 mM", "walls.bottom": "-25 mV",
      "fd.nx": 33) replaces that key of the document before the loader reads it (values in
      the key's own units);
    - a dimensionless name of OVERRIDABLE ("debye_ratio": 0.05) is applied afterwards
      (`with_overrides`).

    `source` names where the overrides came from ("--set", "--param", a study file), or maps
    each key to its source: an error about an overridden key names that source and the key;
    an error elsewhere in the file that an override caused names the file and the override.
    """
    overrides = dict(overrides or {})
    label = (lambda key: source.get(key, "--set")) if isinstance(source, Mapping) else (lambda key: source)
    keys = {key: value for key, value in overrides.items() if "." in key}
    try:
        loaded = load_case(case, keys)
    except CaseError as exc:
        raise _blamed(exc, keys, label) from None
    for name, value in overrides.items():
        if "." not in name:
            loaded = with_overrides(loaded, {name: value}, label(name))
    return loaded


def _blamed(exc: CaseError, keys: dict[str, object], label) -> CaseError:
    """`exc` relabelled with the override responsible: its source when the error is about an
    overridden key (or a part of it), else the file's message with the overrides appended."""
    for key in keys:
        if exc.key == key or exc.key.startswith((key + "[", key + ".")):
            return CaseError(label(key), exc.key, exc.message)
    if not keys:
        return exc
    given = ", ".join(f"{label(key)} {key}={_shown(value)}" for key, value in keys.items())
    return CaseError(exc.source, exc.key, f"{exc.message} (with {given})")


def _shown(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def parse_value(text: str) -> object:
    """A value given on the command line for a case-file key: a TOML value when it reads as one
    (1e-3, 33, true, [[0, 1, -1.5]], "-25 mV"), else the text itself ("-25mV", "0.1 mM")."""
    try:
        return _toml_value(text)
    except ValueError:
        return text.strip()


def parse_overrides(items: list[str] | None, source: str = "--set") -> dict[str, object]:
    """Parse ["debye_ratio=0.05", "electrolyte.concentration=0.1mM", ...] into a dict, with a
    CaseError naming the bad item: a dimensionless name takes a number, a key by its TOML path
    any value (`parse_value`). Items of solver settings ("pinn.…", see
    `parse_setting_overrides`) are skipped."""
    out: dict[str, object] = {}
    for item in items or []:
        if item.startswith(SETTINGS_PREFIX):
            continue
        name, sep, value = item.partition("=")
        if sep and "." in name:
            out[name.strip()] = parse_value(value)
            continue
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise CaseError(source, item, "expected NAME=NUMBER (e.g. debye_ratio=0.05) or SECTION.KEY=VALUE "
                                          "(e.g. electrolyte.concentration=0.1mM)") from None
    return out


def parse_setting_overrides(items: list[str] | None, source: str = "--set") -> dict[str, object]:
    """The "pinn.KEY=VALUE" items of `--set` as {dotted key inside [pinn]: value}; a value is read
    as TOML (numbers, true/false, [lists], "strings") or else taken as a bare string."""
    out: dict[str, object] = {}
    for item in items or []:
        if not item.startswith(SETTINGS_PREFIX):
            continue
        name, sep, text = item[len(SETTINGS_PREFIX):].partition("=")
        if not sep or not name.strip():
            raise CaseError(source, item, "expected pinn.SECTION.KEY=VALUE, e.g. pinn.optimizer.learning_rate=1e-3")
        try:
            value = _toml_value(text)
        except ValueError:
            value = text.strip()
        out[name.strip()] = value
    return out


def _toml_value(text: str) -> object:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        raise ValueError(text) from None


def with_settings(case: Case, changes: dict[str, object], source: str = "--set") -> Case:
    """A copy of `case` whose [pinn] settings have the dotted keys `changes` replaced, checked
    like the case file's own (a CaseError naming `source` and the key). A loaded case resolves
    its settings again from the keys it gave plus `changes` (pinn_settings.resolve), so that
    `recipe` and the keys the recipe fills in follow the change."""
    from eofpinn.cases.pinn_settings import SettingError, check_problem, merge_keys, replace, validate_choices

    if not changes:
        return case
    given = _given_keys(case)
    given = None if given is None else merge_keys(given, changes)
    try:
        settings = replace(case.pinn, changes) if given is None else resolve(given, case.problem)
        check_problem(settings, case.problem)
        validate_choices(settings)
    except SettingError as exc:
        raise CaseError(source, f"pinn.{exc.key}", exc.message) from None
    return dataclasses.replace(case, pinn=settings, pinn_given=given)
