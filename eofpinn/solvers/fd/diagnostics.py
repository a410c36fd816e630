"""Discrete conservation checks evaluated with the scheme's own fluxes.

- `cross_section_fluxes`: Σ_j N±_x Δy_j, the current Σ_j (N₊ − N₋)_x Δy_j and Σ_j u Δy_j
  through every vertical face column (the SG fluxes the NP balances use), which a conservative
  scheme keeps equal from face column to face column up to the Newton tolerance and round-off
  (with no-flux walls; Boltzmann walls let ions in and out).
- `divergence`: the discrete ∇·u of every cell (the continuity rows without the multiplier).
- `face_flux_scale`: the largest volume flux through one cell face, |u| Δy or |v| Δx, the scale
  against which a cell's mass imbalance |∇·u| · area is round-off (a relative measure that
  holds on any grid and velocity scale).
"""

from __future__ import annotations

import numpy as np

from eofpinn.solvers.fd import ops
from eofpinn.solvers.fd.residual import DiscreteProblem, field_of, ion_fluxes, potential_drops


def cross_section_fluxes(dp: DiscreteProblem, z: np.ndarray) -> dict[str, np.ndarray]:
    """Net flux of each ion, the net current Î = Σ (N₊ − N₋) Δy (physics.md §7) and the volume
    flux through every x face column (length n_u)."""
    f = dp.layout.unpack(np.asarray(z, dtype=float))
    dy = dp.geometry.dy
    v_full = ops.pad_y(f["v"])
    dphi_x, dpsi_y = potential_drops(dp, f["psi"], field_of(dp, f))
    out = {"volume": (f["u"] * dy).sum(axis=1)}
    for name, valence, delta in (("c_plus", dp.valences[0], dp.delta_plus),
                                 ("c_minus", dp.valences[1], dp.delta_minus)):
        flux_x, _ = ion_fluxes(dp, name, valence, delta, f[name], dphi_x, dpsi_y, f["u"], v_full, f["psi"])
        out[name] = (flux_x * dy).sum(axis=1)
    out["current"] = out["c_plus"] - out["c_minus"]
    return out


def divergence(dp: DiscreteProblem, z: np.ndarray) -> np.ndarray:
    """Discrete ∇·u per cell, shape (n, m)."""
    f = dp.layout.unpack(np.asarray(z, dtype=float))
    geo = dp.geometry
    v_full = ops.pad_y(f["v"])
    u = f["u"]
    div_x = (u - np.roll(u, 1, 0)) if geo.periodic else (u[1:] - u[:-1])
    return div_x / geo.dx + (v_full[:, 1:] - v_full[:, :-1]) / geo.dy


def face_flux_scale(dp: DiscreteProblem, z: np.ndarray) -> float:
    """Largest |u| Δy or |v| Δx over all faces (never 0: at least the smallest normal float)."""
    f = dp.layout.unpack(np.asarray(z, dtype=float))
    geo = dp.geometry
    u_faces = np.abs(f["u"]) * geo.dy[None, :]
    v_faces = np.abs(ops.pad_y(f["v"])) * np.reshape(geo.dx, (-1, 1))
    return float(max(np.max(u_faces), np.max(v_faces), np.finfo(float).tiny))


def conservation_summary(dp: DiscreteProblem, z: np.ndarray) -> dict[str, float]:
    """Largest relative spread of each cross-section flux and the largest |∇·u| · cell area,
    absolute and relative to the largest face volume flux (`face_flux_scale`)."""
    fluxes = cross_section_fluxes(dp, z)
    summary = {}
    for name in ("c_plus", "c_minus"):
        flux = fluxes[name]
        summary[f"ion_flux_{name}"] = float(np.mean(flux))
        summary[f"ion_flux_spread_{name}"] = float(np.ptp(flux) / max(np.max(np.abs(flux)), 1e-300))
    area = dp.geometry.dx * dp.geometry.dy[None, :]
    summary["max_cell_mass_imbalance"] = float(np.max(np.abs(divergence(dp, z) * area)))
    summary["max_cell_mass_imbalance_relative"] = summary["max_cell_mass_imbalance"] / face_flux_scale(dp, z)
    summary["flow_rate"] = float(np.mean(fluxes["volume"]))
    current = fluxes["current"]
    summary["current"] = float(np.mean(current))
    # Spread relative to the larger of the net current and the ions' own fluxes (the net current
    # of an open circuit is 0 while each ion still moves).
    scale = max(np.max(np.abs(current)), np.max(np.abs(fluxes["c_plus"])), np.max(np.abs(fluxes["c_minus"])), 1e-300)
    summary["current_spread"] = float(np.ptp(current) / scale)
    return summary
