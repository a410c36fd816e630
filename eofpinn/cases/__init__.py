"""Case files → validated, immutable `Case` objects with their derived scalings."""

from __future__ import annotations

import dataclasses

from eofpinn.cases import scalings as _sc
from eofpinn.errors import CaseError
from eofpinn.cases.loader import NOMINAL_ELECTROLYTE, load_case, scaling_warnings
from eofpinn.cases.ranges import DIMENSIONLESS
from eofpinn.cases.model import (
    Case,
    Electrolyte,
    FDSettings,
    PINNSettings,
    Problem,
    Scalings,
    ZetaSegment,
)

__all__ = [
    "Case", "Electrolyte", "FDSettings", "PINNSettings", "Problem", "Scalings", "ZetaSegment",
    "load_case", "case_from_problem", "straight_problem", "with_overrides", "parse_overrides", "check_override",
    "parse_setting_overrides", "with_settings",
]


def straight_problem(debye_ratio: float, zeta_hat: float, field_hat: float = 1.0, length_ratio: float = 1.0,
                     **options) -> Problem:
    """A straight channel with uniform ζ̂ on both walls (physics.md §4); options go to `Problem`."""
    wall = (ZetaSegment(0.0, length_ratio, zeta_hat),)
    return Problem(debye_ratio=debye_ratio, length_ratio=length_ratio, field_hat=field_hat,
                   zeta_bottom=wall, zeta_top=wall, **options)


def case_from_problem(problem: Problem, name: str = "test", fd: FDSettings | None = None,
                      pinn: PINNSettings | None = None, electrolyte: Electrolyte = NOMINAL_ELECTROLYTE) -> Case:
    """Wrap a dimensionless problem into a Case, embodied physically by `electrolyte` (H = λ_D/ε)."""
    height = _sc.height_for_debye_ratio(electrolyte, problem.debye_ratio)
    v_t = _sc.thermal_voltage(electrolyte.temperature_K, electrolyte.valence)
    zeta_V = tuple(s.zeta_hat * v_t for s in problem.zeta_bottom + problem.zeta_top)
    scalings = _sc.derive_scalings(electrolyte, height, problem.length_ratio * height, zeta_V,
                                   problem.field_hat * v_t / height)
    scalings = dataclasses.replace(scalings, peclet=problem.peclet, reynolds=problem.reynolds)
    return Case(name=name, source="<in memory>", description="", problem=problem, electrolyte=electrolyte,
                scalings=scalings, dimensionless_input=True, fd=fd or FDSettings(), pinn=pinn or PINNSettings(),
                warnings=scaling_warnings(scalings))


# Dimensionless parameters a study may override (`eofpinn solve --set`, `eofpinn sweep --param`).
OVERRIDABLE = ("debye_ratio", "zeta_hat", "field_hat", "peclet", "pressure_drop_hat", "length_ratio")


def check_override(name: str, value: float, source: str = "--set") -> float:
    """`value` if `name` may be overridden and `value` lies in its range (the loader's range,
    ranges.DIMENSIONLESS); else a CaseError naming `source`, the name and the range."""
    if name not in OVERRIDABLE:
        raise CaseError(source, name, f"cannot be overridden; allowed: {', '.join(OVERRIDABLE)}")
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
        if name == "zeta_hat":
            for wall in ("zeta_bottom", "zeta_top"):
                changes[wall] = tuple(dataclasses.replace(s, zeta_hat=float(value)) for s in getattr(case.problem, wall))
        elif name == "length_ratio":
            scale = float(value) / case.problem.length_ratio
            changes[name] = float(value)
            for wall in ("zeta_bottom", "zeta_top"):
                changes[wall] = tuple(ZetaSegment(s.x_start * scale, s.x_end * scale, s.zeta_hat)
                                      for s in changes.get(wall, getattr(case.problem, wall)))
        else:
            changes[name] = float(value)
    problem = dataclasses.replace(case.problem, **changes)
    rebuilt = case_from_problem(problem, name=case.name, fd=case.fd, pinn=case.pinn, electrolyte=case.electrolyte)
    return dataclasses.replace(rebuilt, source=case.source, description=case.description)


SETTINGS_PREFIX = "pinn."


def parse_overrides(items: list[str] | None, source: str = "--set") -> dict[str, float]:
    """Parse ["debye_ratio=0.05", ...] into a dict, with a CaseError naming the bad item.
    Items of solver settings ("pinn.…", see `parse_setting_overrides`) are skipped."""
    out = {}
    for item in items or []:
        if item.startswith(SETTINGS_PREFIX):
            continue
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise CaseError(source, item, "expected NAME=NUMBER, e.g. debye_ratio=0.05") from None
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
    from eofpinn.cases.loader import tomllib

    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        raise ValueError(text) from None


def with_settings(case: Case, changes: dict[str, object], source: str = "--set") -> Case:
    """A copy of `case` whose [pinn] settings have the dotted keys `changes` replaced, checked
    like the case file's own (a CaseError naming `source` and the key)."""
    from eofpinn.cases.pinn_settings import SettingError, replace, validate_choices

    if not changes:
        return case
    try:
        settings = replace(case.pinn, changes)
        validate_choices(settings)
    except SettingError as exc:
        raise CaseError(source, f"pinn.{exc.key}", exc.message) from None
    return dataclasses.replace(case, pinn=settings)
