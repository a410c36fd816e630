"""Boundary data of the discrete problem (physics.md §3), as arrays on the FD grid.

`BoundaryData.from_problem` turns a `Problem` into wall and end values:

- walls: ψ = ζ̂ averaged over each wall face, or on a face of a charge segment the charge
  −∂ψ/∂n = σ̂ averaged over the face (physics.md §7; `charge_*` and the 0/1 `charge_mask_*`,
  the kind of a face being that of the segment holding its centre); ions either Boltzmann
  c± = exp(−ẑ± ψ_wall) or a prescribed normal flux (zero: no-flux); no slip.
- reservoir ends: ψ = ψ_eq(y), c± = exp(−ẑ± ψ_eq(y)), excess pressure P = p̂_in at x = 0 and 0
  at x = ℓ (paper model: P = p, the same numbers), ∂u/∂x = 0 and v = 0.
- periodic ends: the excess pressure jumps by −Δp̂ from x = ℓ⁻ to x = 0⁺ of the next period.

The manufactured-solution tests build their own `BoundaryData` (non-zero wall fluxes, wall
potentials varying along x); the scheme itself never looks at the `Problem`'s zeta segments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from eofpinn.cases.model import Problem
from eofpinn.physics.exact import wall_conditions, wall_profile_1d
from eofpinn.solvers.fd.grid import StaggeredGrid, face_averaged_zeta


@dataclass(frozen=True)
class EndData:
    """Dirichlet columns at a reservoir end (values at the y cell centres)."""

    psi: np.ndarray
    c_plus: np.ndarray
    c_minus: np.ndarray
    pressure: np.ndarray
    psi_walls: tuple[float, float]  # ψ on the bottom and top wall at this end (ζ̂, or solved on a charge wall)


@dataclass(frozen=True)
class BoundaryData:
    """Wall arrays are shaped (n,) over the unknown x columns; `None` marks no-flux ions."""

    psi_bottom: np.ndarray
    psi_top: np.ndarray
    c_wall: dict[str, np.ndarray] | None  # keys c_plus_bottom, c_plus_top, c_minus_bottom, c_minus_top
    ion_wall_flux: dict[str, np.ndarray]  # same keys: prescribed n_y·N± (upwards), no-flux walls
    inlet: EndData | None
    outlet: EndData | None
    pressure_jump: float = 0.0  # periodic: P(ℓ) = P(0) − Δp̂
    outlet_pressure_mean: float = 0.0  # periodic gauge: mean of P over x = ℓ
    ion_mean: tuple[float, float] = (1.0, 1.0)  # no-flux + periodic gauge: mean c± e^{±ψ}
    # Charge walls (None: every face imposes ζ̂): σ̂ face means and 0/1 masks of the charge faces.
    charge_bottom: np.ndarray | None = None
    charge_top: np.ndarray | None = None
    charge_mask_bottom: np.ndarray | None = None
    charge_mask_top: np.ndarray | None = None

    @classmethod
    def from_problem(cls, problem: Problem, grid: StaggeredGrid) -> BoundaryData:
        psi_bottom = face_averaged_zeta(problem, grid, "bottom")
        psi_top = face_averaged_zeta(problem, grid, "top")
        zeros = np.zeros(grid.n)
        keys = ("c_plus_bottom", "c_plus_top", "c_minus_bottom", "c_minus_top")
        c_wall = None
        z_plus, z_minus = problem.valences
        if problem.ion_wall == "boltzmann":
            c_wall = {
                "c_plus_bottom": np.exp(-z_plus * psi_bottom), "c_plus_top": np.exp(-z_plus * psi_top),
                "c_minus_bottom": np.exp(-z_minus * psi_bottom), "c_minus_top": np.exp(-z_minus * psi_top),
            }
        charges = {}
        if problem.has_charge():
            left, right = grid.x_cell_faces[:-1], grid.x_cell_faces[1:]
            for wall in ("bottom", "top"):
                charges[f"charge_mask_{wall}"] = problem.charge_mask(wall, 0.5 * (left + right))
                charges[f"charge_{wall}"] = charges[f"charge_mask_{wall}"] * problem.charge_profile(wall).mean(left, right)
        inlet = outlet = None
        if not grid.periodic:
            inlet = _reservoir_end(problem, grid, "inlet", problem.pressure_drop_hat)
            outlet = _reservoir_end(problem, grid, "outlet", 0.0)
        return cls(psi_bottom, psi_top, c_wall, {k: zeros for k in keys}, inlet, outlet,
                   pressure_jump=problem.pressure_drop_hat if grid.periodic else 0.0, **charges)

    @property
    def charged(self) -> bool:
        """Whether some wall face imposes a charge."""
        return self.charge_mask_bottom is not None

    def scaled_zeta(self, factor: float) -> BoundaryData:
        """The same data with every wall and end potential, and every wall charge, scaled by
        `factor` (continuation)."""
        c_wall = None
        if self.c_wall is not None:
            c_wall = {k: v ** factor for k, v in self.c_wall.items()}
        charges = {}
        if self.charged:
            charges = {"charge_bottom": factor * self.charge_bottom, "charge_top": factor * self.charge_top}
        return replace(
            self, psi_bottom=factor * self.psi_bottom, psi_top=factor * self.psi_top, c_wall=c_wall,
            inlet=_scaled_end(self.inlet, factor), outlet=_scaled_end(self.outlet, factor), **charges,
        )


def _reservoir_end(problem: Problem, grid: StaggeredGrid, end: str, pressure: float) -> EndData:
    x_end = 0.0 if end == "inlet" else problem.length_ratio
    y = np.concatenate([[0.0], grid.y_centres, [1.0]])
    conditions = wall_conditions(problem, x_end)
    profile = wall_profile_1d(problem, y, *conditions)[0]
    psi = profile[1:-1]
    walls = tuple(float(value) if seg.is_charge else seg.zeta_hat for seg, value in zip(conditions, profile[[0, -1]]))
    c_plus, c_minus = (np.exp(-z * psi) for z in problem.valences)
    return EndData(psi, c_plus, c_minus, np.full(grid.m, float(pressure)), walls)


def _scaled_end(end: EndData | None, factor: float) -> EndData | None:
    if end is None:
        return None
    # Scaling ψ_eq is only an approximate equilibrium profile for the scaled walls, but it is
    # exact again at factor 1, which is all continuation needs.
    return replace(end, psi=factor * end.psi, c_plus=end.c_plus ** factor, c_minus=end.c_minus ** factor,
                   psi_walls=(factor * end.psi_walls[0], factor * end.psi_walls[1]))
