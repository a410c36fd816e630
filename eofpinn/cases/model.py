"""Immutable case objects: the physical set-up and the dimensionless problem solvers see.

A `Case` is what a case file describes (physical units, solver settings); its `problem`
attribute is the dimensionless `Problem` of physics.md §2–§3 that every solver reads:
walls at y = 0 (bottom) and y = 1 (top), x ∈ [0, ℓ], every quantity scaled by H, V_T, c0,
U0 = ε_w V_T²/(μ H) and P0 = μ U0 / H.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from eofpinn.cases.pinn_settings import PINNSettings  # the [pinn] section, re-exported here
from eofpinn.physics.walls import WallProfile

Ends = Literal["periodic", "reservoir"]
IonWall = Literal["no_flux", "boltzmann"]
Equations = Literal["full", "paper"]
WallName = Literal["bottom", "top"]


@dataclass(frozen=True)
class ZetaSegment:
    """A stretch [x_start, x_end) of one wall carrying the dimensionless zeta potential ζ̂
    (Dirichlet, ψ = ζ̂). `ChargeSegment` is its surface-charge sibling."""

    x_start: float
    x_end: float
    zeta_hat: float
    charge_hat = None  # a class attribute, not a field: a ζ segment imposes no charge

    @property
    def is_charge(self) -> bool:
        return self.charge_hat is not None


@dataclass(frozen=True)
class ChargeSegment(ZetaSegment):
    """A wall stretch carrying the surface charge σ̂ = σ H/(ε_w V_T): it imposes −∂ψ/∂n = σ̂, n the
    normal out of the wall into the fluid (Neumann, physics.md §7). Its `zeta_hat` is the
    Grahame ζ̂ of σ̂ (a single thin layer, eofpinn/physics/electrolyte.py) — an estimate used for
    starting guesses, the PINN's double-layer base and reports, never imposed; the wall
    potential is an output."""

    charge_hat: float


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
        valence_plus, valence_minus: ẑ± = z±/z_ref (physics.md §7), +1 and −1 for every
            symmetric salt; c± = exp(−ẑ± ψ) in equilibrium.
        open_circuit: the field Ê is an unknown fixed by zero net ionic current through the
            channel (`[drive] current = "0 A"`); `field_hat` is then the solved field in a
            solver's output and 0 (the starting guess) in a loaded case.
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
    valence_plus: float = 1.0
    valence_minus: float = -1.0
    open_circuit: bool = False

    @property
    def valences(self) -> tuple[float, float]:
        """(ẑ₊, ẑ₋), ẑ₊ > 0 > ẑ₋."""
        return self.valence_plus, self.valence_minus

    @property
    def valence_span(self) -> float:
        """ẑ₊ − ẑ₋ (2 for a symmetric salt): Poisson reads ε² ∇²ψ + (c₊ − c₋)/(ẑ₊ − ẑ₋) = 0."""
        return self.valence_plus - self.valence_minus

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

    def charge_profile(self, wall: WallName) -> WallProfile:
        """σ̂(x) of `wall` (physics/walls.py; ζ segments carry the Grahame σ̂ of their ζ̂ there,
        which only matters within the transition width of a ζ|σ edge, where it is not imposed)."""
        from eofpinn.physics.electrolyte import grahame_charge

        segments = tuple(
            ZetaSegment(s.x_start, s.x_end, float(s.charge_hat) if s.is_charge
                        else grahame_charge(s.zeta_hat, *self.valences) / self.debye_ratio)
            for s in self.zeta_segments(wall))
        return WallProfile(segments, self.zeta_transition, self.length_ratio, self.ends == "periodic")

    def has_charge(self, wall: WallName | None = None) -> bool:
        """Whether `wall` (default: either wall) has a σ segment."""
        walls = ("bottom", "top") if wall is None else (wall,)
        return any(s.is_charge for w in walls for s in self.zeta_segments(w))

    def charge_mask(self, wall: WallName, x: np.ndarray) -> np.ndarray:
        """1.0 where the segment holding x imposes a charge, 0.0 where it imposes ζ̂ (sharp: the
        kind of condition changes at the segment edge; the last segment owns x = ℓ)."""
        x = np.asarray(x, dtype=float)
        segments = self.zeta_segments(wall)
        out = np.full(x.shape, 1.0 if segments[-1].is_charge else 0.0)
        for seg in reversed(segments):
            out = np.where(x < seg.x_end, 1.0 if seg.is_charge else 0.0, out)
        return out

    @property
    def uniform_zeta(self) -> float | None:
        """The single ζ̂ of both walls if they are uniform, equal and of the ζ kind, else None."""
        if self.has_charge():
            return None
        values = {s.zeta_hat for s in self.zeta_bottom} | {s.zeta_hat for s in self.zeta_top}
        return values.pop() if len(values) == 1 else None

    def uniform_wall(self, wall: WallName) -> ZetaSegment | None:
        """The condition of `wall` if it is one and the same along the whole wall, else None."""
        segments = self.zeta_segments(wall)
        kinds = {(s.zeta_hat, s.charge_hat) for s in segments}
        return segments[0] if len(kinds) == 1 else None

    @property
    def is_straight_channel(self) -> bool:
        """True when physics.md §4's exact solution applies: each wall carries one uniform
        condition (a ζ or a σ, the two walls may differ)."""
        return self.uniform_wall("bottom") is not None and self.uniform_wall("top") is not None

    @property
    def mirror_symmetric(self) -> bool:
        """True when the problem is its own mirror image about the centre line y = 1/2: both walls
        carry the same conditions (every other input is uniform in y), so ψ, c±, u and P are even
        about y = 1/2 and v is odd."""
        return self.zeta_bottom == self.zeta_top

    @property
    def paper_model(self) -> bool:
        return self.equations == "paper"

    @property
    def fixes_ion_content(self) -> bool:
        """False when no-flux walls and periodic ends leave the ion content free (physics.md §3)."""
        return not (self.ion_wall == "no_flux" and self.ends == "periodic")


@dataclass(frozen=True)
class Electrolyte:
    """A z₊:z₋ electrolyte in SI units.

    `concentration_mol_m3` is the salt concentration c_s; each ion's bulk concentration follows
    from electroneutrality (`bulk_concentrations_mol_m3`, physics/electrolyte.py): c±⁰ = c_s for
    a symmetric salt. `valence` is the reference valence z_ref = gcd(z₊, |z₋|) that sets
    V_T = RT/(z_ref F): z for a symmetric z:z salt (give `valence` alone), 1 for CaCl₂. When
    `valence_plus`/`valence_minus` are left out they are ±valence.
    """

    concentration_mol_m3: float
    valence: int
    diffusivity_plus_m2_s: float
    diffusivity_minus_m2_s: float
    relative_permittivity: float
    temperature_K: float
    viscosity_Pa_s: float
    density_kg_m3: float
    valence_plus: int | None = None
    valence_minus: int | None = None

    def __post_init__(self) -> None:
        if self.valence_plus is None:
            object.__setattr__(self, "valence_plus", self.valence)
        if self.valence_minus is None:
            object.__setattr__(self, "valence_minus", -self.valence)

    @property
    def symmetric(self) -> bool:
        return self.valence_plus == -self.valence_minus

    @property
    def bulk_concentrations_mol_m3(self) -> tuple[float, float]:
        """(c₊⁰, c₋⁰) from electroneutrality."""
        from eofpinn.physics.electrolyte import electroneutral_bulk

        return electroneutral_bulk(self.concentration_mol_m3, self.valence_plus, self.valence_minus)

    @property
    def charge_concentration_mol_m3(self) -> float:
        """q = z₊ c₊⁰ = |z₋| c₋⁰, the bulk concentration of either ion's charge (mol of e per m³)."""
        return self.valence_plus * self.bulk_concentrations_mol_m3[0]

    @property
    def dimensionless_valences(self) -> tuple[float, float]:
        """(ẑ₊, ẑ₋) = (z₊, z₋)/z_ref."""
        return self.valence_plus / self.valence, self.valence_minus / self.valence


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
    zeta_hat: tuple[float, ...]  # per segment; a σ segment's is its Grahame ζ̂
    field_hat: float
    length_ratio: float
    field_V_m: float
    helmholtz_smoluchowski_m_s: tuple[float, ...]
    # z₊:z₋ electrolytes and charged walls (physics.md §7); per segment, bottom then top:
    # σ (given, or the Grahame σ of a given ζ) and the Dukhin number |σ|/(F q H).
    valence_plus: int = 1
    valence_minus: int = -1
    concentration_plus_mol_m3: float = 0.0
    concentration_minus_mol_m3: float = 0.0
    surface_charge_C_m2: tuple[float, ...] = ()
    dukhin_number: tuple[float, ...] = ()

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
    # The [pinn] keys the case gives (dotted; case file and --set), from which `pinn` is resolved
    # with the recipe (pinn_settings.resolve); None for a case built in code, whose `pinn` is final.
    pinn_given: Mapping[str, Any] | None = field(default=None, compare=False)
