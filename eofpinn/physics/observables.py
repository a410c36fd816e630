"""The quantities nanofluidics measures, from any solver's fields (physics.md §7), in SI units
per unit depth of the 2D channel.

Ion fluxes and the current (dimensionless; each ion scaled by its own bulk concentration c±⁰,
fluxes by c±⁰ D_ref/H):

    N̂± = −δ± ∇c±  −  δ± ẑ± c± ∇φ  +  Pe u c±
         diffusion    conduction     convection        (∇φ = ∇ψ − Ê e_x; paper model: ∇ψ, no u)

    current density  j = F (z₊ N₊ + z₋ N₋) = (F q D_ref / H) (N̂₊ − N̂₋),  q = z₊ c₊⁰ = |z₋| c₋⁰
    current          I = ∫ j·e_x dy = F q D_ref Î,  Î = ∫ (N̂₊ − N̂₋)·e_x dŷ           [A/m]
    flow rate        Q = U0 H ∫ û dŷ                                                  [m²/s]
    wall charge      σ = −ε_w ∂Φ/∂n = (ε_w V_T/H) σ̂, n out of the wall into the fluid  [C/m²]
                     (σ̂ = −∂ψ/∂ŷ at y = 0, +∂ψ/∂ŷ at y = 1)

The current is evaluated through several cross-sections (they agree to the discretisation
error: charge is conserved); the x-derivatives are second-order differences along the nodes
(periodic ones wrap), the y-integrals trapezoidal on the solver's own y nodes, the wall
gradients one-sided second order. With a voltage ΔV = Φ(0) − Φ(L) = E L applied, the
conductance is I/ΔV [S/m], and without a pressure drop the electroosmotic mobility is ū/E.
An open circuit (`current = "0 A"`) reports the voltage it builds up, the streaming potential
ΔV_s = Ê ℓ V_T, and ΔV_s/Δp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from eofpinn.physics.electrolyte import FARADAY, VACUUM_PERMITTIVITY

if TYPE_CHECKING:  # pragma: no cover
    from eofpinn.solution import Solution

N_SECTIONS = 5  # cross-sections the current is measured through


def ion_flux_x_parts(valence: float, delta: float, peclet: float, c, c_x, phi_x, u) -> dict[str, np.ndarray]:
    """The x-components of an ion's dimensionless flux N̂ = −δ∇c − δẑc∇φ + Pe u c, term by term."""
    return {"diffusion": -delta * c_x, "conduction": -delta * valence * c * phi_x, "convection": peclet * u * c}


def current_density_x(problem, c_plus, c_minus, c_plus_x, c_minus_x, phi_x, u):
    """(N̂₊ − N̂₋)·e_x, the x-component of the dimensionless current density (module docstring),
    from the concentrations, their x-derivatives, ∂φ/∂x and u (numpy arrays or torch tensors)."""
    peclet = 0.0 if problem.paper_model else problem.peclet
    plus = ion_flux_x_parts(problem.valence_plus, problem.delta_plus, peclet, c_plus, c_plus_x, phi_x, u)
    minus = ion_flux_x_parts(problem.valence_minus, problem.delta_minus, peclet, c_minus, c_minus_x, phi_x, u)
    return sum(plus.values()) - sum(minus.values())


def current_scale_A_m(charge_concentration_mol_m3: float, reference_diffusivity_m2_s: float) -> float:
    """F q D_ref: the current per unit depth of Î = 1 (A/m)."""
    return FARADAY * charge_concentration_mol_m3 * reference_diffusivity_m2_s


def _d_dx(values: np.ndarray, x: np.ndarray, periodic: bool) -> np.ndarray:
    """∂/∂x along axis 0 on the nodes, second order; periodic nodes (x_0 ≡ x_last) wrap."""
    if not periodic or x.size < 4:
        return np.gradient(values, x, axis=0, edge_order=2)
    inner = values[:-1]  # the distinct nodes; the last repeats the first
    h_left = np.diff(x)[np.arange(x.size - 1) - 1]  # node k − 1 → k (node 0: across the period)
    h_right = np.diff(x)
    left, right = np.roll(inner, 1, axis=0), np.roll(inner, -1, axis=0)
    hl, hr = h_left[:, None], h_right[:, None]
    derivative = (hl / (hr * (hl + hr))) * right + ((hr - hl) / (hl * hr)) * inner - (hr / (hl * (hl + hr))) * left
    return np.concatenate([derivative, derivative[:1]])


def wall_slopes(psi: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∂ψ/∂y at y = 0 and y = 1 per x node: the quadratic through the wall and the next two nodes."""
    def one_sided(f0, f1, f2, d1, d2):
        return -(d1 + d2) / (d1 * d2) * f0 + d2 / (d1 * (d2 - d1)) * f1 - d1 / (d2 * (d2 - d1)) * f2

    bottom = one_sided(psi[:, 0], psi[:, 1], psi[:, 2], y[1] - y[0], y[2] - y[0])
    top = -one_sided(psi[:, -1], psi[:, -2], psi[:, -3], y[-1] - y[-2], y[-1] - y[-3])
    return bottom, top


def _x_mean(values: np.ndarray, x: np.ndarray) -> float:
    return float(np.trapezoid(values, x) / (x[-1] - x[0]))


def condition_edges(problem) -> np.ndarray:
    """x where a wall condition changes (ζ̂, σ̂ or its kind), periodic wraps at 0 and ℓ included."""
    edges = set()
    for wall in ("bottom", "top"):
        segments = problem.zeta_segments(wall)
        keys = [(seg.zeta_hat, seg.charge_hat) for seg in segments]
        edges |= {b.x_start for a, b, ka, kb in zip(segments, segments[1:], keys, keys[1:]) if ka != kb}
        if problem.ends == "periodic" and keys[0] != keys[-1]:
            edges |= {0.0, problem.length_ratio}
    return np.array(sorted(edges))


def section_nodes(x: np.ndarray, edges: np.ndarray, count: int = N_SECTIONS) -> np.ndarray:
    """`count` node indices, one in each of `count` equal slices of [0, ℓ]: the node farthest from
    every edge of a wall condition (where the fields are singular and differences are poor), the
    slice's middle node when there is none."""
    length = x[-1] - x[0]
    chosen = []
    for k in range(count):
        inside = np.flatnonzero((x >= x[0] + k * length / count) & (x <= x[0] + (k + 1) * length / count))
        if inside.size == 0:
            continue
        if edges.size:
            distance = np.min(np.abs(x[inside, None] - edges[None, :]), axis=1)
            chosen.append(inside[np.argmax(distance)])
        else:
            chosen.append(inside[inside.size // 2])
    return np.unique(chosen)


def current_sections(solution: Solution, count: int = N_SECTIONS) -> list[dict[str, float]]:
    """Î and its parts (dimensionless) through `count` cross-sections spread over the channel
    (`section_nodes`: away from the edges of the wall conditions)."""
    p, x, y, f = solution.case.problem, solution.x, solution.y, solution.fields
    periodic = p.ends == "periodic"
    psi_x = _d_dx(f["psi"], x, periodic)
    phi_x = psi_x if p.paper_model else psi_x - p.field_hat
    peclet = 0.0 if p.paper_model else p.peclet
    totals = {"diffusion": 0.0, "conduction": 0.0, "convection": 0.0}
    for name, valence, delta, sign in (("c_plus", p.valence_plus, p.delta_plus, 1.0),
                                       ("c_minus", p.valence_minus, p.delta_minus, -1.0)):
        c = f[name]
        parts = ion_flux_x_parts(valence, delta, peclet, c, 0.0, phi_x, f["u"])
        # Diffusion and the migration in the double layer's own field nearly cancel (Boltzmann
        # ions); their sum −δ(∂c/∂x + ẑ c ∂ψ/∂x) = −δ e^{−ẑψ} ∂(c e^{ẑψ})/∂x is differentiated in
        # the smooth Slotboom variable, and diffusion is that sum less the double-layer migration.
        boltzmann = np.exp(-valence * f["psi"])
        parts["diffusion"] = -delta * boltzmann * _d_dx(c / boltzmann, x, periodic) + delta * valence * c * psi_x
        for key, value in parts.items():
            totals[key] = totals[key] + sign * np.trapezoid(value, y, axis=1)
    nodes = section_nodes(x, condition_edges(p), count)
    return [{"x": float(x[i]), **{k: float(v[i]) for k, v in totals.items()},
             "total": float(sum(v[i] for v in totals.values()))} for i in nodes]


def observables(solution: Solution) -> dict:
    """Flow rate, mean velocity, ionic current (parts, several sections), conductance, wall
    charge and potential per wall, electroosmotic mobility, streaming potential — SI units in
    the keys (see the module docstring; None where a quantity does not apply)."""
    case = solution.case
    p, s, e = case.problem, case.scalings, case.electrolyte
    x, y, f = solution.x, solution.y, solution.fields
    length_m = s.length_m
    q_hat = _x_mean(np.trapezoid(f["u"], y, axis=1), x)
    flow = q_hat * s.velocity_scale_m_s * s.height_m
    scale = current_scale_A_m(e.charge_concentration_mol_m3, 0.5 * (e.diffusivity_plus_m2_s + e.diffusivity_minus_m2_s))
    sections = current_sections(solution)
    totals = np.array([row["total"] for row in sections])
    current = float(np.mean(totals)) * scale
    spread_scale = max(np.max(np.abs(totals)), max(abs(row[k]) for row in sections
                                                   for k in ("diffusion", "conduction", "convection")), 1e-300)
    voltage = p.field_hat * p.length_ratio * s.thermal_voltage_V  # ΔV = Φ(0) − Φ(L)
    field = p.field_hat * s.thermal_voltage_V / s.height_m
    pressure_drop = p.pressure_drop_hat * s.pressure_scale_Pa
    slope_bottom, slope_top = wall_slopes(f["psi"], y)
    charge_scale = e.relative_permittivity * VACUUM_PERMITTIVITY * s.thermal_voltage_V / s.height_m
    drives_by_voltage = voltage != 0.0 and not p.open_circuit
    out = {
        "flow_rate_per_depth_m2_s": flow,
        "mean_velocity_m_s": flow / s.height_m,
        "ionic_current_per_depth_A_m": current,
        "ionic_current_sections": [
            {"x_m": row["x"] * s.height_m, "conduction_A_m": row["conduction"] * scale,
             "diffusion_A_m": row["diffusion"] * scale, "convection_A_m": row["convection"] * scale,
             "total_A_m": row["total"] * scale} for row in sections],
        "ionic_current_section_spread": float(np.ptp(totals) / spread_scale),
        "applied_voltage_V": None if p.open_circuit else voltage,
        "pressure_drop_Pa": pressure_drop,
        "conductance_per_depth_S_m": current / voltage if drives_by_voltage else None,
        "wall_charge_C_m2": {"bottom": -_x_mean(slope_bottom, x) * charge_scale,
                             "top": _x_mean(slope_top, x) * charge_scale},
        "wall_potential_V": {"bottom": _x_mean(f["psi"][:, 0], x) * s.thermal_voltage_V,
                             "top": _x_mean(f["psi"][:, -1], x) * s.thermal_voltage_V},
        "electroosmotic_mobility_m2_Vs": (flow / s.height_m / field
                                          if drives_by_voltage and p.pressure_drop_hat == 0.0 else None),
        "streaming_potential_V": voltage if p.open_circuit else None,
        "streaming_potential_per_pressure_V_Pa": (voltage / pressure_drop
                                                  if p.open_circuit and pressure_drop != 0.0 else None),
    }
    scheme = solution.info.get("conservation", {}) if isinstance(solution.info, dict) else {}
    if "current" in scheme:  # FD: the scheme's own face fluxes, conserved column to column
        out["ionic_current_scheme_A_m"] = scheme["current"] * scale
        out["ionic_current_scheme_spread"] = scheme.get("current_spread")
    return out


def observable_lines(values: dict) -> list[str]:
    """A few lines for the terminal after a solve."""
    def si(value, unit):
        from eofpinn.cases.ranges import format_si

        return "n/a" if value is None else format_si(value, unit)

    lines = [
        f"flow rate {values['flow_rate_per_depth_m2_s']:.4g} m^2/s per unit depth, mean velocity "
        f"{si(values['mean_velocity_m_s'], 'm/s')}",
        f"ionic current {si(values['ionic_current_per_depth_A_m'], 'A/m')} per unit depth "
        f"(through {len(values['ionic_current_sections'])} cross-sections, spread "
        f"{values['ionic_current_section_spread']:.1e}"
        + (f"; the scheme's face fluxes: {si(values['ionic_current_scheme_A_m'], 'A/m')}"
           if values.get("ionic_current_scheme_A_m") is not None else "") + ")",
    ]
    if values["conductance_per_depth_S_m"] is not None:
        lines.append(f"conductance {si(values['conductance_per_depth_S_m'], 'S/m')} per unit depth at "
                     f"{si(values['applied_voltage_V'], 'V')}")
    if values["electroosmotic_mobility_m2_Vs"] is not None:
        lines.append(f"electroosmotic mobility {values['electroosmotic_mobility_m2_Vs']:.4g} m^2/(V s)")
    if values["streaming_potential_V"] is not None:
        per = values["streaming_potential_per_pressure_V_Pa"]
        lines.append(f"open circuit: streaming potential {si(values['streaming_potential_V'], 'V')}"
                     + (f" ({per:.4g} V/Pa)" if per is not None else ""))
    charge, potential = values["wall_charge_C_m2"], values["wall_potential_V"]
    lines.append(f"walls: charge {charge['bottom'] * 1e3:.4g} / {charge['top'] * 1e3:.4g} mC/m^2, potential "
                 f"{potential['bottom'] * 1e3:.4g} / {potential['top'] * 1e3:.4g} mV (bottom / top, means)")
    return lines
