"""Physical quantities written as strings in case files ("20 nm", "-50 mV", "1 mM").

Parsing is done by pint; this module only turns its answers into SI floats and its failures
into `CaseError`s that name the file and key.
"""

from __future__ import annotations

import re
from functools import lru_cache

from eofpinn.errors import CaseError

# name → (SI unit string, example shown in error messages)
QUANTITY_KINDS = {
    "length": ("m", "100 nm"),
    "concentration": ("mol/m^3", "1 mM"),
    "diffusivity": ("m^2/s", "2e-9 m^2/s"),
    "temperature": ("K", "298.15 K"),
    "viscosity": ("Pa*s", "0.89 mPa*s"),
    "density": ("kg/m^3", "997 kg/m^3"),
    "voltage": ("V", "-50 mV"),
    "field": ("V/m", "10 kV/m"),
    "pressure": ("Pa", "10 kPa"),
    "surface_charge": ("C/m^2", "-60 mC/m^2"),
    "current": ("A", "0 A"),
}

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


@lru_cache(maxsize=1)
def _registry():
    import pint

    return pint.UnitRegistry()


def parse_quantity(text: object, kind: str, source: str, key: str) -> float:
    """Parse `text` as a quantity of `kind` (see QUANTITY_KINDS) and return it in SI units."""
    si_unit, example = QUANTITY_KINDS[kind]
    if not isinstance(text, str):
        raise CaseError(source, key, f'expects a {kind} written with its unit, e.g. "{example}"; got {text!r}')
    match = _NUMBER.match(text)
    if not match or not match.group(2):
        raise CaseError(source, key, f'expects a {kind} written as "number unit", e.g. "{example}"; got "{text}"')
    ureg = _registry()
    try:
        quantity = ureg.Quantity(float(match.group(1)), match.group(2))
        return float(quantity.to(si_unit).magnitude)
    except Exception as exc:  # pint raises several unrelated types for bad or mismatched units
        reason = "unknown unit" if "UndefinedUnit" in type(exc).__name__ else "wrong dimension"
        raise CaseError(
            source, key, f'expects a {kind} (convertible to {si_unit}, e.g. "{example}"); got "{text}" ({reason})'
        ) from None
