"""Immutable case objects: the physical set-up and the dimensionless problem solvers see.

A `Case` is what a case file describes (physical units, solver settings); its `problem`
attribute is the dimensionless `Problem` of physics.md §2–§3 that every solver reads:
walls at y = 0 (bottom) and y = 1 (top), x ∈ [0, ℓ], every quantity scaled by H, V_T, c0,
U0 = ε_w V_T²/(μ H) and P0 = μ U0 / H.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from eofpinn.cases.pinn_settings import PINNSettings  # the [pinn] section, re-exported here
from eofpinn.physics.walls import WallProfile

Ends = Literal["periodic", "reservoir"]
IonWall = Literal["no_flux", "boltzmann"]
Equations = Literal["full", "paper"]
WallName = Literal["bottom", "top"]


@dataclass(frozen=True)
class ZetaSegment:
    """A stretch [x_start, x_end) of one wall carrying the dimensionless zeta potential ζ̂."""

    x_start: float
    x_end: float
    zeta_hat: float


@dataclass(frozen=True)
class Problem:
    """The dimensionless steady PNP–Stokes problem (physics.md §2–§3).

    Attributes:
        debye_ratio: ε = λ_D / H, the coupling parameter.
        length_ratio: ℓ = L / H.
        field_hat: Ê = E H / V_T, the applied field along +x (φ = ψ − Ê x).
        pressure_drop_hat: Δp̂ = p̂_in − p̂_out of the excess pressure P = p − Π.
        peclet: Pe = U0 H / D_ref.
        reynolds: Re = ρ U0 H / μ (only used when `inertia` is on).
        delta_plus, delta_minus: D± / D_ref.
        zeta_bottom, zeta_top: contiguous segments covering [0, ℓ] on each wall.
        ends: "periodic" or "reservoir".
        ion_wall: "no_flux" (n·N± = 0) or "boltzmann" (c± = exp(∓ζ̂)).
        equations: "full" (physics.md §2) or "paper" (reduced model of arXiv 2605.23391).
        inertia: include the Re (u·∇)u term in Stokes (physics.md §5).
        zeta_transition: w, the width (in units of H) over which ζ̂ changes at a segment edge
            (tanh profile, eofpinn/physics/walls.py); 0 = sharp jumps.
    """

    debye_ratio: float
    length_ratio: float
    field_hat: float
    zeta_bottom: tuple[ZetaSegment, ...]
    zeta_top: tuple[ZetaSegment, ...]
    pressure_drop_hat: float = 0.0
    peclet: float = 1.0
    reynolds: float = 0.0
    delta_plus: float = 1.0
    delta_minus: float = 1.0
    ends: Ends = "periodic"
    ion_wall: IonWall = "no_flux"
    equations: Equations = "full"
    inertia: bool = False
    zeta_transition: float = 0.0

    def zeta_segments(self, wall: WallName) -> tuple[ZetaSegment, ...]:
        return self.zeta_bottom if wall == "bottom" else self.zeta_top

    def wall_profile(self, wall: WallName) -> WallProfile:
        """ζ̂(x) of `wall`: its segments with the case's transition width (physics/walls.py)."""
        return WallProfile(self.zeta_segments(wall), self.zeta_transition, self.length_ratio, self.ends == "periodic")

    def zeta_wall(self, wall: WallName, x: np.ndarray) -> np.ndarray:
        """ζ̂ on `wall` at positions x (smooth over the transition width; sharp when it is 0,
        the last segment then owning x = ℓ)."""
        return self.wall_profile(wall).value(np.asarray(x, dtype=float))

    def pattern_corners(self) -> list[tuple[float, float]]:
        """(x, y) of every wall point where ζ̂ changes; with periodic ends a pattern whose last and
        first segments differ also changes at x = 0 and x = ℓ (the same corner)."""
        corners = []
        for wall, y in (("bottom", 0.0), ("top", 1.0)):
            segments = self.zeta_segments(wall)
            corners += [(b.x_start, y) for a, b in zip(segments[:-1], segments[1:]) if a.zeta_hat != b.zeta_hat]
            if self.ends == "periodic" and segments[0].zeta_hat != segments[-1].zeta_hat:
                corners += [(0.0, y), (self.length_ratio, y)]
        return sorted(corners)

    @property
    def uniform_zeta(self) -> float | None:
        """The single ζ̂ of both walls if they are uniform and equal, else None."""
        values = {s.zeta_hat for s in self.zeta_bottom} | {s.zeta_hat for s in self.zeta_top}
        return values.pop() if len(values) == 1 else None

    @property
    def is_straight_channel(self) -> bool:
        """True when physics.md §4's exact solution applies."""
        return self.uniform_zeta is not None

    @property
    def paper_model(self) -> bool:
        return self.equations == "paper"

    @property
    def fixes_ion_content(self) -> bool:
        """False when no-flux walls and periodic ends leave the ion content free (physics.md §3)."""
        return not (self.ion_wall == "no_flux" and self.ends == "periodic")


@dataclass(frozen=True)
class Electrolyte:
    """A symmetric z:z electrolyte in SI units."""

    concentration_mol_m3: float
    valence: int
    diffusivity_plus_m2_s: float
    diffusivity_minus_m2_s: float
    relative_permittivity: float
    temperature_K: float
    viscosity_Pa_s: float
    density_kg_m3: float


@dataclass(frozen=True)
class Scalings:
    """Everything derived from a case (physics.md §2), SI units in the names."""

    height_m: float
    length_m: float
    debye_length_m: float
    debye_ratio: float
    thermal_voltage_V: float
    velocity_scale_m_s: float
    pressure_scale_Pa: float
    concentration_scale_mol_m3: float
    peclet: float
    reynolds: float
    zeta_hat: tuple[float, ...]
    field_hat: float
    length_ratio: float
    field_V_m: float
    helmholtz_smoluchowski_m_s: tuple[float, ...]

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


MAX_EDGE_STRETCH = 5.0  # β sech²β / tanh β = 2e-4 of the mean spacing: beyond any use


@dataclass(frozen=True)
class FDSettings:
    """Finite-volume reference solver settings (eofpinn/solvers/fd).

    nx: x nodes 0 … ℓ; ny: y nodes (both walls and ny − 2 cell centres). The defaults, 64 × 160
    cells (nx = 65, ny = 162) with wall_stretch β = 3 (tanh map), keep the straight-channel
    error below 1e-4 for 0.02 ≤ ε ≤ 0.1 and |ζ̂| ≤ 4, and nest under halving (Richardson). grid_sequencing: on grids above 4096 cells, start Newton from
    the solution of a grid with half the cells in each direction (recursively). edge_stretch:
    β of the tanh clustering of the x grid towards every x where ζ̂ jumps (the corner
    singularities; solvers/fd/grid.py), first cell ≈ β sech²β / tanh β of the mean spacing
    (β = 2: 0.15, β = 3: 0.03); 0 = uniform in x. At most MAX_EDGE_STRETCH. The allowed range
    of every field is in ranges.FD (checked by the loader and by `eofpinn.solve`).
    """

    nx: int = 65
    ny: int = 162
    wall_stretch: float = 3.0
    edge_stretch: float = 0.0
    max_newton: int = 40
    tolerance: float = 1e-10
    continuation_steps: int = 0
    grid_sequencing: bool = True


@dataclass(frozen=True)
class Case:
    """A loaded, validated case file."""

    name: str
    source: str
    description: str
    problem: Problem
    electrolyte: Electrolyte
    scalings: Scalings
    dimensionless_input: bool
    fd: FDSettings = field(default_factory=FDSettings)
    pinn: PINNSettings = field(default_factory=PINNSettings)
    warnings: tuple[str, ...] = ()
