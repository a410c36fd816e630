"""Case files → validated, immutable `Case` objects with their derived scalings."""

from __future__ import annotations

import dataclasses

from eofpinn.cases import scalings as _sc
from eofpinn.cases.loader import NOMINAL_ELECTROLYTE, load_case, scaling_warnings
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
    "load_case", "case_from_problem", "straight_problem",
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
