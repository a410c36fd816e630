"""Classical thin-double-layer estimates of electrokinetic transport (SI, per unit depth of a
2D slit of height H and length L), the references the EDL-resolved solutions are held against
in validation/charge_transport.py (physics.md §7).

Ion mobilities μᵢ = |zᵢ| F Dᵢ / RT (m²/(V s)); bulk conductivity κ = F Σᵢ |zᵢ| μᵢ cᵢ⁰
= F² Σᵢ zᵢ² Dᵢ cᵢ⁰ / RT.

- Conductance with surface conduction (the "Bikerman" estimate used for nanochannels, e.g. by
  Stein, Kruithof & Dekker, Phys. Rev. Lett. 93, 035901 (2004)): the bulk path plus the
  counter-ions that neutralise the charge σ of both walls, moving at their bulk mobility,

      G = (1/L) [ κ H + 2 μ_counter |σ| ]       (z:z: (1/L)[(μ₊ + μ₋) z F c₀ H + 2 μ_counter |σ|])

  It is a bulk line at high concentration and a height-independent plateau 2 μ_counter |σ|/L at
  low concentration; the two terms are equal at c* with κ(c*) H = 2 μ_counter |σ|, i.e.
  c* ∝ |σ|/H (Du = 1). Electroosmotic convection of the layer's charge and layer overlap are
  left out.
- Helmholtz–Smoluchowski (thin layers, ζ the wall potential): electroosmotic velocity
  u_eo = −ε_w ζ E/μ; streaming current I_s = −(ε_w ζ/μ)(Δp/L) H; streaming potential at open
  circuit ΔV_s = Φ(0) − Φ(L) = ε_w ζ Δp /(μ κ) (bulk conduction only).
"""

from __future__ import annotations

from eofpinn.physics.electrolyte import FARADAY, GAS_CONSTANT


def ion_mobility(valence: int, diffusivity_m2_s: float, temperature_K: float) -> float:
    """μ = |z| F D / RT, m²/(V s)."""
    return abs(valence) * FARADAY * diffusivity_m2_s / (GAS_CONSTANT * temperature_K)


def bulk_conductivity(electrolyte) -> float:
    """κ = F² Σᵢ zᵢ² Dᵢ cᵢ⁰ / RT (S/m)."""
    e = electrolyte
    c_plus, c_minus = e.bulk_concentrations_mol_m3
    return FARADAY * (e.valence_plus * ion_mobility(e.valence_plus, e.diffusivity_plus_m2_s, e.temperature_K) * c_plus
                      + abs(e.valence_minus) * ion_mobility(e.valence_minus, e.diffusivity_minus_m2_s,
                                                            e.temperature_K) * c_minus)


def counter_ion_mobility(electrolyte, charge_C_m2: float) -> float:
    """The mobility of the ion that neutralises a wall charge σ: the cation for σ < 0."""
    e = electrolyte
    if charge_C_m2 < 0:
        return ion_mobility(e.valence_plus, e.diffusivity_plus_m2_s, e.temperature_K)
    return ion_mobility(e.valence_minus, e.diffusivity_minus_m2_s, e.temperature_K)


def thin_layer_conductance(electrolyte, height_m: float, length_m: float, charge_C_m2: float) -> float:
    """G = (1/L)[κ H + 2 μ_counter |σ|], S per metre of depth (both walls carry σ)."""
    return (bulk_conductivity(electrolyte) * height_m
            + 2.0 * counter_ion_mobility(electrolyte, charge_C_m2) * abs(charge_C_m2)) / length_m


def crossover_concentration(electrolyte, height_m: float, charge_C_m2: float) -> float:
    """Salt concentration c* (mol/m³) at which the surface term of `thin_layer_conductance` equals
    the bulk term (κ is proportional to c_s)."""
    per_salt = bulk_conductivity(electrolyte) / electrolyte.concentration_mol_m3
    return 2.0 * counter_ion_mobility(electrolyte, charge_C_m2) * abs(charge_C_m2) / (per_salt * height_m)


def smoluchowski_streaming_current(permittivity: float, viscosity: float, zeta_V: float, pressure_drop_Pa: float,
                                   height_m: float, length_m: float) -> float:
    """I_s = −(ε_w ζ/μ)(Δp/L) H, A per metre of depth."""
    return -permittivity * zeta_V / viscosity * pressure_drop_Pa / length_m * height_m


def smoluchowski_streaming_potential(permittivity: float, viscosity: float, zeta_V: float,
                                     pressure_drop_Pa: float, conductivity_S_m: float) -> float:
    """ΔV_s = Φ(0) − Φ(L) = ε_w ζ Δp/(μ κ) at zero net current."""
    return permittivity * zeta_V * pressure_drop_Pa / (viscosity * conductivity_S_m)
