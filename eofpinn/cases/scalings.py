"""EDL-resolved scalings of physics.md §2, as pure functions of SI inputs.

    V_T = RT/(zF),  λ_D = sqrt(ε_w RT / (2 z² F² c0)),  ε = λ_D/H,
    U0 = ε_w V_T²/(μ H),  P0 = μ U0/H,  Pe = U0 H / D_ref,  Re = ρ U0 H/μ,
    ζ̂ = ζ/V_T,  Ê = E H / V_T.
"""

from __future__ import annotations

import math

from eofpinn.cases.model import Electrolyte, Scalings

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)
VACUUM_PERMITTIVITY = 8.8541878128e-12  # F/m


def thermal_voltage(temperature_K: float, valence: int) -> float:
    return GAS_CONSTANT * temperature_K / (valence * FARADAY)


def permittivity(e: Electrolyte) -> float:
    return e.relative_permittivity * VACUUM_PERMITTIVITY


def debye_length(e: Electrolyte) -> float:
    """λ_D = sqrt(ε_w RT / (2 z² F² c0)) for a symmetric z:z salt of concentration c0."""
    return math.sqrt(
        permittivity(e) * GAS_CONSTANT * e.temperature_K
        / (2.0 * e.valence**2 * FARADAY**2 * e.concentration_mol_m3)
    )


def velocity_scale(e: Electrolyte, height_m: float) -> float:
    """U0 = ε_w V_T² / (μ H)."""
    return permittivity(e) * thermal_voltage(e.temperature_K, e.valence) ** 2 / (e.viscosity_Pa_s * height_m)


def reference_diffusivity(e: Electrolyte) -> float:
    return 0.5 * (e.diffusivity_plus_m2_s + e.diffusivity_minus_m2_s)


def derive_scalings(
    e: Electrolyte, height_m: float, length_m: float, zeta_V: tuple[float, ...], field_V_m: float
) -> Scalings:
    """Every derived scale of a physical case (one ζ̂ per wall segment, bottom then top)."""
    v_t = thermal_voltage(e.temperature_K, e.valence)
    lam = debye_length(e)
    u0 = velocity_scale(e, height_m)
    return Scalings(
        height_m=height_m,
        length_m=length_m,
        debye_length_m=lam,
        debye_ratio=lam / height_m,
        thermal_voltage_V=v_t,
        velocity_scale_m_s=u0,
        pressure_scale_Pa=e.viscosity_Pa_s * u0 / height_m,
        concentration_scale_mol_m3=e.concentration_mol_m3,
        peclet=u0 * height_m / reference_diffusivity(e),
        reynolds=e.density_kg_m3 * u0 * height_m / e.viscosity_Pa_s,
        zeta_hat=tuple(z / v_t for z in zeta_V),
        field_hat=field_V_m * height_m / v_t,
        length_ratio=length_m / height_m,
        field_V_m=field_V_m,
        helmholtz_smoluchowski_m_s=tuple(-permittivity(e) * z * field_V_m / e.viscosity_Pa_s for z in zeta_V),
    )


def height_for_debye_ratio(e: Electrolyte, debye_ratio: float) -> float:
    """H = λ_D / ε: the physical embodiment of a dimensionless case."""
    return debye_length(e) / debye_ratio
