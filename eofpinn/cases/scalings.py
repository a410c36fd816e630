"""EDL-resolved scalings of physics.md §2 and §7, as pure functions of SI inputs.

    V_T = RT/(z_ref F),  λ_D = sqrt(ε_w RT / (F² Σᵢ zᵢ² cᵢ⁰)),  ε = λ_D/H,
    U0 = ε_w V_T²/(μ H),  P0 = μ U0/H,  Pe = U0 H / D_ref,  Re = ρ U0 H/μ,
    ζ̂ = ζ/V_T,  Ê = E H / V_T,  σ̂ = σ H/(ε_w V_T)

(z_ref = z and Σᵢ zᵢ² cᵢ⁰ = 2 z² c0 for a symmetric z:z salt; physics/electrolyte.py).
"""

from __future__ import annotations

import math

from eofpinn.cases.model import Electrolyte, Scalings
from eofpinn.physics import electrolyte as ions
from eofpinn.physics.electrolyte import FARADAY, GAS_CONSTANT, VACUUM_PERMITTIVITY  # noqa: F401 (re-exported)


def thermal_voltage(temperature_K: float, valence: int) -> float:
    """V_T = RT/(z F), `valence` the reference valence z_ref (z of a z:z salt)."""
    return ions.thermal_voltage(temperature_K, valence)


def permittivity(e: Electrolyte) -> float:
    return e.relative_permittivity * VACUUM_PERMITTIVITY


def debye_length(e: Electrolyte) -> float:
    """λ_D = sqrt(ε_w RT / (F² Σᵢ zᵢ² cᵢ⁰)); sqrt(ε_w RT / (2 z² F² c0)) for a symmetric z:z salt."""
    return ions.debye_length(permittivity(e), e.temperature_K, e.concentration_mol_m3, e.valence_plus,
                             e.valence_minus)


def charge_scale(e: Electrolyte, height_m: float) -> float:
    """ε_w V_T / H (C/m²): σ̂ = σ / charge_scale."""
    return permittivity(e) * thermal_voltage(e.temperature_K, e.valence) / height_m


def grahame_charge_C_m2(e: Electrolyte, zeta_V: float) -> float:
    """σ of a single thin layer at potential ζ (Grahame; physics/electrolyte.py)."""
    v_t = thermal_voltage(e.temperature_K, e.valence)
    return ions.grahame_charge(zeta_V / v_t, *e.dimensionless_valences) * permittivity(e) * v_t / debye_length(e)


def grahame_zeta_V(e: Electrolyte, charge_C_m2: float) -> float:
    """ζ of a single thin layer carrying σ (the inverse Grahame equation)."""
    v_t = thermal_voltage(e.temperature_K, e.valence)
    scale = permittivity(e) * v_t / debye_length(e)
    return ions.grahame_zeta(charge_C_m2 / scale, *e.dimensionless_valences) * v_t


def velocity_scale(e: Electrolyte, height_m: float) -> float:
    """U0 = ε_w V_T² / (μ H)."""
    return permittivity(e) * thermal_voltage(e.temperature_K, e.valence) ** 2 / (e.viscosity_Pa_s * height_m)


def reference_diffusivity(e: Electrolyte) -> float:
    return 0.5 * (e.diffusivity_plus_m2_s + e.diffusivity_minus_m2_s)


def derive_scalings(
    e: Electrolyte, height_m: float, length_m: float, zeta_V: tuple[float, ...], field_V_m: float,
    charge_C_m2: tuple[float | None, ...] | None = None,
) -> Scalings:
    """Every derived scale of a physical case (one ζ̂ per wall segment, bottom then top).

    `charge_C_m2` gives σ for the charge segments (None for a ζ segment, whose σ is then its
    Grahame σ); `zeta_V` holds ζ for a ζ segment and the Grahame ζ of σ for a charge segment."""
    v_t = thermal_voltage(e.temperature_K, e.valence)
    lam = debye_length(e)
    u0 = velocity_scale(e, height_m)
    charges = charge_C_m2 if charge_C_m2 is not None else (None,) * len(zeta_V)
    sigma = tuple(grahame_charge_C_m2(e, z) if c is None else c for z, c in zip(zeta_V, charges))
    c_plus, c_minus = e.bulk_concentrations_mol_m3
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
        valence_plus=e.valence_plus,
        valence_minus=e.valence_minus,
        concentration_plus_mol_m3=c_plus,
        concentration_minus_mol_m3=c_minus,
        surface_charge_C_m2=sigma,
        dukhin_number=tuple(ions.dukhin_number(s, e.charge_concentration_mol_m3, height_m) for s in sigma),
    )


def height_for_debye_ratio(e: Electrolyte, debye_ratio: float) -> float:
    """H = λ_D / ε: the physical embodiment of a dimensionless case."""
    return debye_length(e) / debye_ratio
