"""`eofpinn new`: a commented case file written from a loaded case.

Every key is written with its value and a comment giving what it means, its allowed range
(with units) and its default or "required" — all read from ranges.py, the tables the loader
checks against, so the comments cannot drift from what is accepted. A physical case gives the
physical form, a dimensionless one the dimensionless form; the file loads back to the same
problem (values written to 10 significant digits).
"""

from __future__ import annotations

import json

from eofpinn.cases import scalings as sc
from eofpinn.cases.loader import NOMINAL_ELECTROLYTE
from eofpinn.cases.model import Case, Electrolyte
from eofpinn.cases.ranges import CHOICES, DIMENSIONLESS, FD, PHYSICAL, Key

COMMENT_COLUMN = 32


TRANSITION_NOTE = ("width over which zeta changes at a segment edge (tanh), in [0, a quarter of the shortest "
                   "segment]; 0: sharp jumps; default λ_D/4")

def _line(key: str, value: str, comment: str) -> str:
    text = f"{key} = {value}"
    return f"{text:<{COMMENT_COLUMN - 1}} # {comment}"


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _number(value: float) -> str:
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def _quantity(value: float, scale: float, unit: str) -> str:
    return _string(f"{value / scale:.10g} {unit}")


def _length(metres: float) -> str:
    scale, unit = next(((s, u) for s, u in ((1.0, "m"), (1e-3, "mm"), (1e-6, "um")) if abs(metres) >= s), (1e-9, "nm"))
    return _quantity(metres, scale, unit)


def _about(spec: Key, extra: str = "", default: str | None = None) -> str:
    """"meaning; range[; extra]; default … | required" (`default` overrides the table's)."""
    if default is None:
        default = "required" if spec.default is None else f"default {spec.default!r}".replace("'", '"')
    return "; ".join(part for part in (spec.meaning, str(spec.range), extra, default) if part)


def _choice(section: str, key: str, value: str, meaning: str) -> str:
    options, default = CHOICES[f"{section}.{key}"]
    return _line(key, _string(value), f"{meaning}: {' | '.join(options)}; default {_string(default)}")


def _header(case: Case, name: str, origin: str) -> list[str]:
    return [
        f"# {name}: an eofpinn case, written by `eofpinn new` from {origin}.",
        "# Every key has its meaning, allowed range and default (or \"required\") beside it; the form",
        "# is README \"Case files\". Check it with `eofpinn info " + name + ".toml`, solve it with",
        f"# `eofpinn solve {name}.toml --out runs/{name}` (finite differences; --solver exact | pinn).",
        "",
        "[case]",
        _line("name", _string(name), "shown in outputs; default: the file name"),
        _line("description", _string(case.description), "one line, shown by `eofpinn info` and `eofpinn cases`"),
        "",
    ]


def _physical(key: str, value: str, extra: str = "") -> str:
    """The line of PHYSICAL[key] ("section.key")."""
    return _line(key.split(".")[1], value, _about(PHYSICAL[key], extra))


def _valence_lines(e: Electrolyte) -> list[str]:
    if e.symmetric:
        return [_physical("electrolyte.valence", str(e.valence),
                          "or instead valence_plus and valence_minus for a z₊:z₋ salt")]
    return [_physical("electrolyte.valence_plus", str(e.valence_plus), "with valence_minus, instead of valence"),
            _physical("electrolyte.valence_minus", str(e.valence_minus))]


def _electrolyte(e: Electrolyte) -> list[str]:
    return [
        "[electrolyte]                   # a z:z salt (valence) or a z₊:z₋ salt (valence_plus, valence_minus); "
        "every other key required",
        _physical("electrolyte.concentration", _quantity(e.concentration_mol_m3, 1.0, "mM")),
        *_valence_lines(e),
        _physical("electrolyte.diffusivity_plus", _quantity(e.diffusivity_plus_m2_s, 1.0, "m^2/s")),
        _physical("electrolyte.diffusivity_minus", _quantity(e.diffusivity_minus_m2_s, 1.0, "m^2/s")),
        _physical("electrolyte.relative_permittivity", _number(e.relative_permittivity)),
        _physical("electrolyte.temperature", _quantity(e.temperature_K, 1.0, "K")),
        _physical("electrolyte.viscosity", _quantity(e.viscosity_Pa_s, 1e-3, "mPa*s")),
        _physical("electrolyte.density", _quantity(e.density_kg_m3, 1.0, "kg/m^3")),
        "",
    ]


def _physical_sections(case: Case) -> list[str]:
    s, p = case.scalings, case.problem
    v_t = s.thermal_voltage_V
    zeta_range = DIMENSIONLESS["zeta_hat"].range

    def value(g) -> str:
        if g.is_charge:
            sigma = g.charge_hat * sc.charge_scale(case.electrolyte, s.height_m)
            return _quantity(sigma, 1e-3, "mC/m^2")
        return _quantity(g.zeta_hat * v_t, 1e-3, "mV")

    def wall(segments) -> str:
        if len(segments) == 1:
            return value(segments[0])
        items = (f"[{_length(g.x_start * s.height_m)}, {_length(g.x_end * s.height_m)}, {value(g)}]"
                 for g in segments)
        return "[" + ", ".join(items) + "]"

    zeta_note = (f"ζ within ±{zeta_range.high * v_t * 1e3:.4g} mV (|ζ̂| = |ζ|/V_T ≤ {zeta_range.high:g}) or a surface "
                 f"charge σ in {PHYSICAL['walls.charge'].range} (the unit decides): one value, or contiguous "
                 "[x_start, x_end, value] segments covering [0, L]; required")
    voltage = PHYSICAL["drive.voltage"]
    if p.open_circuit:
        drive = _line("current", _string("0 A"), f"{PHYSICAL['drive.current'].meaning}; "
                                                 f"{PHYSICAL['drive.current'].range}; instead of field or voltage")
    else:
        drive = _physical("drive.field", _quantity(s.field_V_m, 1e3, "kV/m"),
                          f"or instead voltage = \"…\", the {voltage.meaning}, in {voltage.range}, or "
                          "current = \"0 A\" (open circuit)")
    return [
        "[channel]",
        _physical("channel.length", _length(s.length_m), f"and ℓ = L/H in {DIMENSIONLESS['length_ratio'].range}"),
        _physical("channel.height", _length(s.height_m), f"and ε = λ_D/H in {DIMENSIONLESS['debye_ratio'].range} "
                                                         "(warns below 0.005: layer too thin to resolve)"),
        _choice("channel", "ends", p.ends, "channel ends"),
        "",
        *_electrolyte(case.electrolyte),
        "[walls]                         # zeta potentials or surface charges of the walls at y = 0 (bottom) and y = H (top)",
        _line("bottom", wall(p.zeta_bottom), zeta_note),
        _line("top", wall(p.zeta_top), zeta_note),
        _line("transition", _length(p.zeta_transition * s.height_m), TRANSITION_NOTE),
        "",
        "[drive]                         # a field, a voltage or current = \"0 A\" is required (field = \"0 V/m\": pressure-driven flow)",
        drive,
        _physical("drive.pressure_drop", _quantity(p.pressure_drop_hat * s.pressure_scale_Pa, 1.0, "Pa")),
        "",
    ]


def _dimensionless_sections(case: Case) -> list[str]:
    p = case.problem

    def value(g) -> str:
        return f"{{charge = {_number(float(g.charge_hat))}}}" if g.is_charge else _number(g.zeta_hat)

    def wall(segments) -> str:
        if len(segments) == 1:
            return value(segments[0])
        return "[" + ", ".join(f"[{_number(g.x_start)}, {_number(g.x_end)}, {value(g)}]"
                               for g in segments) + "]"

    def number(key: str, name: str, value: float, extra: str = "", default: str | None = None) -> str:
        return _line(key, _number(value), _about(DIMENSIONLESS[name], extra, default))

    field = DIMENSIONLESS["field_hat"]
    zeta_note = (f"ζ̂ = ζ/V_T in {DIMENSIONLESS['zeta_hat'].range}, or {{charge = σ̂}} with σ̂ = σ H/(ε_w V_T): one "
                 "value, or contiguous [x_start, x_end, value] segments covering [0, ℓ] (positions in units of H); "
                 "required")
    if p.open_circuit:
        drive_line = _line("current", "0", "open circuit: Ê fixed by zero net current; instead of field or voltage")
    else:
        drive_line = _line("field", _number(p.field_hat), f"{field.meaning}; {field.range}; or instead voltage = "
                                                          "V̂ = Ê ℓ, or current = 0 (open circuit); one of them "
                                                          "required (0: pressure-driven flow)")
    lines = [
        "[channel]",
        number("length_ratio", "length_ratio", p.length_ratio),
        _choice("channel", "ends", p.ends, "channel ends"),
        "",
        "[dimensionless]",
        number("debye_ratio", "debye_ratio", p.debye_ratio, "warns below 0.005: layer too thin to resolve"),
        drive_line,
        number("peclet", "peclet", p.peclet, default="default: from the electrolyte"),
        number("reynolds", "reynolds", p.reynolds, default="default: from the electrolyte"),
        number("pressure_drop", "pressure_drop_hat", p.pressure_drop_hat),
        number("delta_plus", "delta_plus", p.delta_plus),
        number("delta_minus", "delta_minus", p.delta_minus),
        "",
        "[walls]",
        _line("bottom", wall(p.zeta_bottom), zeta_note),
        _line("top", wall(p.zeta_top), zeta_note),
        _line("transition", _number(p.zeta_transition), TRANSITION_NOTE + " (units of H)"),
        "",
    ]
    if case.electrolyte != NOMINAL_ELECTROLYTE:
        return lines + _electrolyte(case.electrolyte)
    return lines + ["# [electrolyte] (optional): the physical embodiment for output units, every key as in the",
                    "# physical form; default 1 mM KCl in water at 25 °C, H = λ_D/ε.", ""]


def _model_and_solver_sections(case: Case) -> list[str]:
    p, fd = case.problem, case.fd
    lines = [
        "[model]",
        _choice("model", "equations", p.equations, "equations (full: physics.md §2; paper: arXiv 2605.23391's reduced model)"),
        _choice("model", "ion_wall", p.ion_wall, "ions at the walls (no_flux: impermeable; boltzmann: c± = exp(∓ζ̂))"),
        _line("inertia", "true" if p.inertia else "false", "add Re (u·∇)u to Stokes; default false"),
        "",
        "[fd]                            # finite differences (`eofpinn solve`, the default solver)",
    ]
    lines += [_line(key, _number(getattr(fd, key)), _about(spec)) for key, spec in FD.items()]
    lines += [
        _line("grid_sequencing", "true" if fd.grid_sequencing else "false",
              "start grids above 4096 cells from a grid with half the cells; default true"),
        "",
    ]
    return lines + _pinn_sections(case)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return _string(value)
    return repr(value)


def _pinn_sections(case: Case) -> list[str]:
    """The case's [pinn] settings that differ from what the copy would get without them (the
    defaults and what the recipe adds for this geometry), as TOML tables: the settings a case
    carries for its PINN travel with the copy, and the copy loads with the same settings."""
    from eofpinn.cases.pinn_settings import SECTIONS, TOP_LEVEL, as_table, resolve

    ours, defaults = as_table(case.pinn), as_table(resolve({}, case.problem))
    top = [(key, ours[key]) for key in TOP_LEVEL if ours[key] != defaults[key] and ours[key] is not None]
    tables = {name: [(key, value) for key, value in ours[name].items()
                     if value is not None and value != defaults[name].get(key)] for name in SECTIONS}
    note = ["# [pinn]: PINN settings (--solver pinn), the fields of PINNSettings in eofpinn/cases/pinn_settings.py",
            "# (docs/case-files.md \"[pinn]\"), each with its default there; [pinn] recipe = \"auto\" (the default)",
            "# adds the settings measured for walls that change along x (docs/method.md \"The 2D recipe\")."]
    if not top and not any(tables.values()):
        return note
    lines = note + ["# Below: where this case differs from those defaults (and from what [pinn] recipe = \"auto\" adds)."]
    if top:
        lines += ["[pinn]", *(f"{key} = {_toml_value(value)}" for key, value in top), ""]
    for name, items in tables.items():
        if items:
            lines += [f"[pinn.{name}]", *(f"{key} = {_toml_value(value)}" for key, value in items), ""]
    return lines[:-1]


def case_template(case: Case, name: str, origin: str) -> str:
    """The text of a commented case file reproducing `case` under the name `name`."""
    form = _dimensionless_sections if case.dimensionless_input else _physical_sections
    return "\n".join(_header(case, name, origin) + form(case) + _model_and_solver_sections(case)) + "\n"
