"""The exact straight-channel solution (physics.md §4) packaged as a solver."""

from __future__ import annotations

import time

import numpy as np

from eofpinn.cases import with_field
from eofpinn.cases.model import Case
from eofpinn.physics.exact import exact_fields, open_circuit_field
from eofpinn.solution import Solution


def cosine_wall_grid(n: int) -> np.ndarray:
    """n points on [0, 1] crowded towards both walls (Chebyshev–Lobatto spacing)."""
    return 0.5 * (1.0 - np.cos(np.pi * np.arange(n) / (n - 1)))


def solve_exact(case: Case, nx: int = 41, ny: int = 201) -> Solution:
    """Evaluate the exact solution on an nx × ny grid (uniform in x, wall-clustered in y).

    Raises UnsupportedCaseError for cases with a zeta pattern (no closed form exists). An open
    circuit is solved at its zero-current field, which the returned Solution's case carries.
    """
    start = time.perf_counter()
    if case.problem.open_circuit:  # Ê from zero net current (physics.md §7)
        case = with_field(case, open_circuit_field(case.problem))
    x = np.linspace(0.0, case.problem.length_ratio, nx)
    y = cosine_wall_grid(ny)
    X, Y = np.meshgrid(x, y, indexing="ij")
    fields = exact_fields(case.problem, X, Y)
    info = {"time_s": time.perf_counter() - start, "method": "Poisson–Boltzmann BVP (physics.md §4)"}
    if case.problem.open_circuit:
        info["open_circuit_field_hat"] = case.problem.field_hat
    return Solution(case=case, x=x, y=y, fields=fields, solver="exact", info=info)
