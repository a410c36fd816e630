"""The allowed value of every number a case file, a CLI flag or `eofpinn.solve` can set.

One table per kind of input, each read by every place that accepts that input:

- `DIMENSIONLESS` — ε, ℓ, ζ̂, Ê, Δp̂, Pe, Re, δ± (names of `Problem`). The [dimensionless] form
  checks its numbers against it; the physical form checks the numbers it derives (ε from the
  height, ℓ from the length, ζ̂ from each zeta, ...), naming the physical key and the physical
  range that follows; `--set` and `sweep --param` check their overrides against it. So both
  forms and the command line accept the same problems.
- `PHYSICAL` — plausibility limits of the physical inputs themselves (a value outside is almost
  surely a typo: "10 M" for "10 mM"), with their units and defaults; `CHOICES` — the keys
  that take one of a few words.
- `FD` — the [fd] settings (`FDSettings`), also used for `--nx`/`--ny` and `solve(nx=, ny=)`;
  `EXACT` — the grid of the exact solution.

Ranges chosen from physics.md §6 (Debye lengths 1–100 nm, heights 10 nm – 10 µm: ε from 1e-4 to
10; the loader warns below ε = 0.005 where no practical grid resolves the layer) and from what
the solvers can do (|ζ̂| ≤ 20 ≈ 500 mV at 25 °C; FD grids up to about 1024² cells).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from eofpinn.cases.model import MAX_EDGE_STRETCH, FDSettings


@dataclass(frozen=True)
class Range:
    """The interval [low, high] (or (low, high] when `low_open`); `text` writes it with units."""

    low: float
    high: float
    low_open: bool = False
    integer: bool = False
    text: str | None = None

    def __str__(self) -> str:
        return self.text or f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"

    def contains(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def violation(self, value: object) -> str | None:
        """None when `value` is allowed, else what is wrong with it ("must lie in [a, b]; got x")."""
        wanted = "an integer" if self.integer else "a number"
        right_type = isinstance(value, numbers.Integral if self.integer else numbers.Real)
        if isinstance(value, bool) or not right_type:
            return f"must be {wanted} in {self}; got {value!r}"
        if not self.contains(float(value)):
            return f"must lie in {self}; got {value!r}"
        return None


@dataclass(frozen=True)
class Key:
    """One number a user can set: what it means, its allowed range, its unit kind and default.

    `kind` names a physical quantity (units.QUANTITY_KINDS) written as "number unit"; None for a
    plain number. `default` None means the key is required. `symbol` (dimensionless numbers)
    is how a message names the number when the physical form derives it."""

    meaning: str
    range: Range
    kind: str | None = None
    default: object = None
    symbol: str = ""


# Names of Problem's attributes (and V̂, which the [dimensionless] form may give instead of Ê).
# ε from physics.md §6 (λ_D 1–100 nm, H 10 nm – 10 µm), |ζ̂| from the solvers (20 ≈ 500 mV at
# 25 °C); the others only catch typos and overflow (ℓ up to 1e4: a 100 nm × 1 mm channel).
DIMENSIONLESS = {
    "debye_ratio": Key("the Debye ratio ε = λ_D/H", Range(1e-4, 10.0), symbol="ε = λ_D/H"),
    "length_ratio": Key("the aspect ratio ℓ = L/H", Range(1e-2, 1e4), symbol="ℓ = L/H"),
    "zeta_hat": Key("the zeta potential ζ̂ = ζ/V_T", Range(-20.0, 20.0), symbol="ζ̂ = ζ/V_T"),
    "field_hat": Key("the applied field Ê = E H/V_T", Range(-1e6, 1e6), symbol="Ê = E H/V_T"),
    "voltage_hat": Key("the applied voltage V̂ = ΔV/V_T = Ê ℓ", Range(-1e6, 1e6), symbol="V̂ = ΔV/V_T"),
    "pressure_drop_hat": Key("the pressure drop Δp̂ = Δp/P0", Range(-1e9, 1e9), default=0.0, symbol="Δp̂ = Δp/P0"),
    "peclet": Key("the Péclet number Pe = U0 H/D_ref", Range(0.0, 1e6), symbol="Pe = U0 H/D_ref"),
    "reynolds": Key("the Reynolds number Re = ρ U0 H/μ", Range(0.0, 1e6), symbol="Re = ρ U0 H/μ"),
    "delta_plus": Key("δ₊ = D₊/D_ref", Range(0.0, 1e3, low_open=True), default=1.0),
    "delta_minus": Key("δ₋ = D₋/D_ref", Range(0.0, 1e3, low_open=True), default=1.0),
    # σ̂ = σ H/(ε_w V_T) of a charge segment; what limits it is the Grahame ζ̂ of σ, which must lie
    # in the zeta_hat range (|σ| ≤ 1 C/m² in the physical form, PHYSICAL["walls.charge"]).
    "charge_hat": Key("the surface charge σ̂ = σ H/(ε_w V_T)", Range(-1e12, 1e12), symbol="σ̂ = σ H/(ε_w V_T)"),
    "current_hat": Key("the net ionic current (open circuit)", Range(0.0, 0.0, text="0 (open circuit)"),
                       default=0.0),
}

# "section.key" of the physical form; ranges in SI units.
PHYSICAL = {
    "channel.length": Key("channel length L", Range(0.0, 1.0, True, text="(0, 1 m]"), "length"),
    "channel.height": Key("channel height H (walls at y = 0 and y = H)",
                          Range(0.0, 1e-2, True, text="(0, 1 cm]"), "length"),
    "electrolyte.concentration": Key("salt concentration c_s (each ion's bulk concentration follows from "
                                     "electroneutrality; c0 of each ion for a z:z salt)",
                                     Range(0.0, 1e4, True, text="(0, 10 M]"), "concentration"),
    "electrolyte.valence": Key("valence z of the symmetric z:z salt", Range(1, 4, integer=True)),
    "electrolyte.valence_plus": Key("cation valence z₊ of a z₊:z₋ salt", Range(1, 4, integer=True)),
    "electrolyte.valence_minus": Key("anion valence z₋ of a z₊:z₋ salt (negative)", Range(-4, -1, integer=True)),
    "walls.charge": Key("surface charge density σ of a wall segment (−ε_w ∂Φ/∂n = σ, n into the fluid)",
                        Range(-1.0, 1.0, text="[-1 C/m^2, 1 C/m^2]"), "surface_charge"),
    "electrolyte.diffusivity_plus": Key("cation diffusivity D₊",
                                        Range(0.0, 1e-6, True, text="(0, 1e-6 m^2/s]"), "diffusivity"),
    "electrolyte.diffusivity_minus": Key("anion diffusivity D₋",
                                         Range(0.0, 1e-6, True, text="(0, 1e-6 m^2/s]"), "diffusivity"),
    "electrolyte.relative_permittivity": Key("relative permittivity of the solvent", Range(1.0, 1000.0)),
    "electrolyte.temperature": Key("temperature T", Range(200.0, 500.0, True, text="(200 K, 500 K]"),
                                   "temperature"),
    "electrolyte.viscosity": Key("dynamic viscosity μ", Range(0.0, 1e3, True, text="(0, 1000 Pa*s]"),
                                 "viscosity"),
    "electrolyte.density": Key("density ρ", Range(0.0, 1e5, True, text="(0, 1e5 kg/m^3]"), "density"),
    "drive.field": Key("applied field E along +x", Range(-1e8, 1e8, text="[-100 MV/m, 100 MV/m]"), "field"),
    "drive.voltage": Key("applied voltage ΔV = Φ(0) − Φ(L)", Range(-1e4, 1e4, text="[-10 kV, 10 kV]"),
                         "voltage"),
    "drive.pressure_drop": Key("pressure drop p_in − p_out of the excess pressure",
                               Range(-1e9, 1e9, text="[-1 GPa, 1 GPa]"), "pressure", default="0 Pa"),
    "drive.current": Key("net ionic current: open circuit, the voltage fixed by zero current",
                         Range(0.0, 0.0, text="0 A (open circuit)"), "current"),
}

# Keys that take one of a few words: "section.key" → (choices, default).
CHOICES = {
    "channel.ends": (("periodic", "reservoir"), "periodic"),
    "model.equations": (("full", "paper"), "full"),
    "model.ion_wall": (("no_flux", "boltzmann"), "no_flux"),
}

_FD_DEFAULTS = FDSettings()
# FDSettings fields (grid_sequencing, a flag, is checked as one). Grids: at least 4 cells each way
# (StaggeredGrid), at most 4096 × 2048 cells and MAX_FD_NODES in all (about 1024² cells: the
# sparse LU of 512 × 256 cells already needs 5.5 GB).
FD = {
    "nx": Key("x grid nodes 0 … ℓ", Range(5, 4097, integer=True), default=_FD_DEFAULTS.nx),
    "ny": Key("y grid nodes: both walls and ny − 2 cell centres", Range(6, 2050, integer=True),
              default=_FD_DEFAULTS.ny),
    "wall_stretch": Key("tanh clustering β of the y grid at the walls, 0 = uniform", Range(0.0, 5.0),
                        default=_FD_DEFAULTS.wall_stretch),
    "edge_stretch": Key("tanh clustering β of the x grid at the zeta jumps, 0 = uniform, 2-3 = strong",
                        Range(0.0, MAX_EDGE_STRETCH), default=_FD_DEFAULTS.edge_stretch),
    "max_newton": Key("Newton iterations per solve", Range(1, 1000, integer=True),
                      default=_FD_DEFAULTS.max_newton),
    "tolerance": Key("Newton stops when the step is below this, relative to each field",
                     Range(1e-14, 1e-3), default=_FD_DEFAULTS.tolerance),
    "continuation_steps": Key("zeta continuation stages, 0 = only when a direct start fails",
                              Range(0, 32, integer=True), default=_FD_DEFAULTS.continuation_steps),
}
MAX_FD_NODES = 1025 * 1026

EXACT = {
    "nx": Key("x grid nodes 0 … ℓ", Range(2, 4097, integer=True), default=41),
    "ny": Key("y grid nodes 0 … 1 (clustered at the walls)", Range(3, 4097, integer=True), default=201),
}


def fd_grid_violation(nx: int, ny: int) -> str | None:
    """None when an nx × ny FD grid is small enough to solve, else why not."""
    if nx * ny <= MAX_FD_NODES:
        return None
    return (f"nx × ny = {nx} × {ny} = {nx * ny:.3g} nodes; at most {MAX_FD_NODES:.3g} "
            f"(e.g. 1025 × 1026): the sparse LU would not fit in memory")


_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def format_si(value: float, unit: str) -> str:
    """4 significant digits with an SI prefix (G … n): format_si(3.042e-9, "m") == "3.042 nm"."""
    scale, prefix = next(((s, p) for s, p in _PREFIXES if abs(value) >= s), _PREFIXES[-1])
    return f"{value / scale:.4g} {prefix}{unit}"
