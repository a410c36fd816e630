"""The electrolyte and its double layer: pure functions written once for every solver.

A z₊:z₋ salt (z₊ > 0 > z₋, integers) of concentration c_s dissociates into ν₊ cations and ν₋
anions per formula unit, with ν₊ z₊ + ν₋ z₋ = 0 (electroneutrality) in lowest terms:

    ν₊ = |z₋| / g,   ν₋ = z₊ / g,   g = gcd(z₊, |z₋|)        (CaCl₂: z = 2, −1 → ν = 1, 2)
    c₊⁰ = ν₊ c_s,    c₋⁰ = ν₋ c_s,  q = z₊ c₊⁰ = |z₋| c₋⁰   (q: the bulk charge concentration)
    λ_D = sqrt(ε_w R T / (F² Σᵢ zᵢ² cᵢ⁰)) = sqrt(ε_w R T / (F² (ν₊ z₊² + ν₋ z₋²) c_s))

A symmetric z:z salt has ν± = 1, c±⁰ = c_s and Σ zᵢ² cᵢ⁰ = 2 z² c_s (physics.md §2).

Dimensionless (physics.md §7): potentials in V_T = RT/(z_ref F) with z_ref = g, so that the
dimensionless valences ẑ± = z±/z_ref are ±1 for every symmetric salt; each concentration in
its own bulk value c±⁰. Then c± = exp(−ẑ± ψ) in equilibrium, and the one-dimensional
Poisson–Boltzmann equation is ε² ψ'' = −(c₊ − c₋)/(ẑ₊ − ẑ₋), whose first integral for a
layer that decays into the bulk (ψ, ψ' → 0) is

    (ε²/2) ψ'² = G(ψ),   G(ψ) = [e^{−ẑ₊ψ}/ẑ₊ − e^{−ẑ₋ψ}/ẑ₋ − (1/ẑ₊ − 1/ẑ₋)] / (ẑ₊ − ẑ₋) ≥ 0

(symmetric salt: G = cosh ψ − 1). G(ψ)/ε² is also the osmotic pressure Π̂ of the ions at
potential ψ (the contact theorem). Sign convention for a wall (physics.md §3, §7): σ is the
charge per area on the wall and n the unit normal pointing *out of the wall into the fluid*;
the electric field vanishes inside the wall, so Gauss's law gives

    −ε_w ∂Φ/∂n = σ      (fluid side);   dimensionless  −∂ψ/∂n = σ̂,  σ̂ = σ H / (ε_w V_T)

A negative wall (silica, σ < 0) has Φ rising into the fluid: ζ < 0 ⇔ σ < 0. For a single
wall of potential ζ̂ and a layer that decays into the bulk this gives the Grahame equation

    σ λ_D / (ε_w V_T) = sgn(ζ̂) sqrt(2 G(ζ̂))        (z:z: 2 sinh(ζ̂/2), i.e.
    σ = sqrt(8 ε_w R T c_s) sinh(z F ζ / 2RT), the classical form)

`grahame_charge` returns the left-hand side (the charge in units of ε_w V_T/λ_D, so
σ̂ = s/ε); `grahame_zeta` inverts it — in closed form, ζ̂ = 2 asinh(s/2), for a symmetric salt
and by a bracketed root search (G is convex and monotone on each side of 0) otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)
VACUUM_PERMITTIVITY = 8.8541878128e-12  # F/m


def reference_valence(valence_plus: int, valence_minus: int) -> int:
    """z_ref = gcd(z₊, |z₋|): z for a z:z salt, 1 for CaCl₂ (2:1) or Na₂SO₄ (1:2)."""
    return math.gcd(int(valence_plus), abs(int(valence_minus)))


def stoichiometry(valence_plus: int, valence_minus: int) -> tuple[int, int]:
    """(ν₊, ν₋): ions per formula unit of the electroneutral salt, in lowest terms."""
    g = reference_valence(valence_plus, valence_minus)
    return abs(int(valence_minus)) // g, int(valence_plus) // g


def electroneutral_bulk(salt_concentration: float, valence_plus: int, valence_minus: int) -> tuple[float, float]:
    """Bulk ion concentrations (c₊⁰, c₋⁰) = (ν₊ c_s, ν₋ c_s); z₊ c₊⁰ + z₋ c₋⁰ = 0 exactly."""
    nu_plus, nu_minus = stoichiometry(valence_plus, valence_minus)
    return nu_plus * salt_concentration, nu_minus * salt_concentration


def ionic_strength_factor(valence_plus: int, valence_minus: int) -> int:
    """Σᵢ νᵢ zᵢ² (an integer; 2 z² for a z:z salt), so Σᵢ zᵢ² cᵢ⁰ = factor · c_s."""
    nu_plus, nu_minus = stoichiometry(valence_plus, valence_minus)
    return nu_plus * int(valence_plus) ** 2 + nu_minus * int(valence_minus) ** 2


def debye_length(permittivity: float, temperature_K: float, salt_concentration: float,
                 valence_plus: int, valence_minus: int) -> float:
    """λ_D = sqrt(ε_w R T / (F² Σᵢ zᵢ² cᵢ⁰)) in metres (SI inputs; c_s in mol/m³)."""
    factor = ionic_strength_factor(valence_plus, valence_minus)
    return math.sqrt(permittivity * GAS_CONSTANT * temperature_K / (factor * FARADAY**2 * salt_concentration))


def thermal_voltage(temperature_K: float, reference: int) -> float:
    """V_T = R T / (z_ref F)."""
    return GAS_CONSTANT * temperature_K / (reference * FARADAY)


# ---- dimensionless double layer (valences ẑ₊ > 0 > ẑ₋, symmetric: ±1) ----------------------
def is_symmetric(z_plus: float, z_minus: float) -> bool:
    return z_plus == -z_minus


def boltzmann(psi, valence: float):
    """c/c⁰ = exp(−ẑ ψ) of an ion of dimensionless valence ẑ in equilibrium with the bulk."""
    return np.exp(-valence * np.asarray(psi, dtype=float))


def osmotic_function(psi, z_plus: float = 1.0, z_minus: float = -1.0):
    """G(ψ) = [e^{−ẑ₊ψ}/ẑ₊ − e^{−ẑ₋ψ}/ẑ₋ − (1/ẑ₊ − 1/ẑ₋)]/(ẑ₊ − ẑ₋) ≥ 0 (cosh ψ − 1 for z:z)."""
    psi = np.asarray(psi, dtype=float)
    if is_symmetric(z_plus, z_minus):
        return np.cosh(psi) - 1.0
    return (np.expm1(-z_plus * psi) / z_plus - np.expm1(-z_minus * psi) / z_minus) / (z_plus - z_minus)


def grahame_charge(zeta_hat: float, z_plus: float = 1.0, z_minus: float = -1.0) -> float:
    """s = σ λ_D/(ε_w V_T) of a single wall at potential ζ̂: sgn(ζ̂) sqrt(2 G(ζ̂)) (z:z: 2 sinh(ζ̂/2))."""
    if is_symmetric(z_plus, z_minus):
        return float(2.0 * np.sinh(0.5 * zeta_hat))
    return float(math.copysign(math.sqrt(2.0 * float(osmotic_function(zeta_hat, z_plus, z_minus))), zeta_hat))


def grahame_zeta(charge: float, z_plus: float = 1.0, z_minus: float = -1.0) -> float:
    """ζ̂ of a single wall carrying s = σ λ_D/(ε_w V_T): the inverse of `grahame_charge`.

    Closed form 2 asinh(s/2) for a symmetric salt; otherwise the root of
    sgn(ζ̂) sqrt(2 G(ζ̂)) = s, bracketed between 0 and the ζ̂ at which the dominant counter-ion
    term alone reaches s (G grows at least like e^{|ẑ| |ζ̂|}/|ẑ|(ẑ₊ − ẑ₋) there)."""
    if charge == 0.0:
        return 0.0
    if is_symmetric(z_plus, z_minus):
        return float(2.0 * np.arcsinh(0.5 * charge))
    target = abs(charge)

    def excess(magnitude: float) -> float:
        zeta = math.copysign(magnitude, charge)
        return math.sqrt(2.0 * float(osmotic_function(zeta, z_plus, z_minus))) - target

    high = 1.0
    while excess(high) < 0.0:
        high *= 2.0
    magnitude = brentq(excess, 0.0, high, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)
    return math.copysign(magnitude, charge)


def dukhin_number(charge_C_m2: float, charge_concentration_mol_m3: float, height_m: float) -> float:
    """Du = |σ| / (F q H): the wall charge against the charge of one ion species of the bulk in
    the channel's cross-section (q = z₊ c₊⁰). With equal ion mobilities it is the ratio of the
    surface to the bulk conductance of the thin-layer estimate (two walls), so Du ≫ 1 means a
    surface-charge-governed channel; Du = 1 at the crossover concentration c* = |σ|/(z F H)."""
    return abs(charge_C_m2) / (FARADAY * charge_concentration_mol_m3 * height_m)
