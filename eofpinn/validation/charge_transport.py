"""Linear electrokinetic response of a channel: the Onsager matrix, conductance and streaming
(issue 13; physics.md §7), from the exact straight-channel solution or from FD solves.

Per unit depth, with ΔV = Φ(0) − Φ(L) and Δp = p_in − p_out of the excess pressure:

    Q = L11 Δp + L12 ΔV          (flow rate, m²/s)
    I = L21 Δp + L22 ΔV          (ionic current, A/m)

L22 is the conductance G, L21 the streaming conductance, L12 the electroosmotic one; Onsager
reciprocity says L12 = L21 (in these units). The streaming potential at zero current is
ΔV_s = −(L21/L22) Δp.

`exact_response` reads the coefficients off the exact profile (transport_coefficients, exact to
the profile's 1e-10). `fd_response` measures them with the FD solver: central differences in
each drive about equilibrium, so the quadratic part of the response cancels and a channel
whose response is not exactly linear (a ζ step, a pattern) gives the linear coefficients to
O(drive²); Q and I are the scheme's own conserved cross-section fluxes.
"""

from __future__ import annotations

import dataclasses

from eofpinn.cases import Case, case_from_problem
from eofpinn.physics.exact import transport_coefficients
from eofpinn.physics.observables import current_scale_A_m


def _si_scales(case: Case) -> dict[str, float]:
    """Q per Q̂, I per Î, ΔV per V̂ and Δp per Δp̂."""
    s, e = case.scalings, case.electrolyte
    d_ref = 0.5 * (e.diffusivity_plus_m2_s + e.diffusivity_minus_m2_s)
    return {"flow": s.velocity_scale_m_s * s.height_m,
            "current": current_scale_A_m(e.charge_concentration_mol_m3, d_ref),
            "voltage": s.thermal_voltage_V, "pressure": s.pressure_scale_Pa}


def exact_response(case: Case) -> dict[str, float]:
    """L11, L12, L21, L22 (SI) of a straight channel from the exact solution."""
    k = transport_coefficients(case.problem)
    scale, ell = _si_scales(case), case.problem.length_ratio
    per_voltage = 1.0 / (ell * scale["voltage"])  # Ê per volt: Ê = V̂/ℓ
    per_pressure = 1.0 / scale["pressure"]
    return {"L11": scale["flow"] * k["flow_per_pressure"] * per_pressure,
            "L12": scale["flow"] * k["flow_per_field"] * per_voltage,
            "L21": scale["current"] * k["current_per_pressure"] * per_pressure,
            "L22": scale["current"] * k["current_per_field"] * per_voltage}


def fd_flow_and_current(case: Case, field_hat: float, pressure_drop_hat: float, nx: int, ny: int) -> tuple[float, float]:
    """(Q, I) in SI from one FD solve at the given drives (the scheme's conserved fluxes)."""
    from eofpinn.solvers.fd import solve_fd

    problem = dataclasses.replace(case.problem, field_hat=field_hat, pressure_drop_hat=pressure_drop_hat,
                                  open_circuit=False)
    driven = dataclasses.replace(case_from_problem(problem, name=case.name, fd=case.fd, electrolyte=case.electrolyte),
                                 source=case.source)
    conservation = solve_fd(driven, nx=nx, ny=ny).info["conservation"]
    scale = _si_scales(case)
    return conservation["flow_rate"] * scale["flow"], conservation["current"] * scale["current"]


def fd_response(case: Case, nx: int, ny: int, voltage_hat: float = 1e-2, pressure_hat: float | None = None) -> dict:
    """L11, L12, L21, L22 (SI) measured with FD: ±V̂ at Δp̂ = 0 and ±Δp̂ at V̂ = 0 (central
    differences; Δp̂ defaults to 12 V̂, which drives a Poiseuille flow comparable to the
    electroosmotic one)."""
    pressure_hat = 12.0 * voltage_hat if pressure_hat is None else pressure_hat
    ell, scale = case.problem.length_ratio, _si_scales(case)
    q_plus, i_plus = fd_flow_and_current(case, voltage_hat / ell, 0.0, nx, ny)
    q_minus, i_minus = fd_flow_and_current(case, -voltage_hat / ell, 0.0, nx, ny)
    dv = 2.0 * voltage_hat * scale["voltage"]
    qp_plus, ip_plus = fd_flow_and_current(case, 0.0, pressure_hat, nx, ny)
    qp_minus, ip_minus = fd_flow_and_current(case, 0.0, -pressure_hat, nx, ny)
    dp = 2.0 * pressure_hat * scale["pressure"]
    return {"L11": (qp_plus - qp_minus) / dp, "L12": (q_plus - q_minus) / dv,
            "L21": (ip_plus - ip_minus) / dp, "L22": (i_plus - i_minus) / dv,
            "voltage_V": voltage_hat * scale["voltage"], "pressure_Pa": pressure_hat * scale["pressure"]}


def reciprocity_error(response: dict) -> float:
    """|L12 − L21| / max(|L12|, |L21|)."""
    return abs(response["L12"] - response["L21"]) / max(abs(response["L12"]), abs(response["L21"]))
