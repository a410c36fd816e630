"""Compare a solution with a reference: per-field errors and discrete balance checks.

Errors (the reference interpolated onto the solution's grid, cubic in each direction):
    relative L2   ‖f − f_ref‖₂ / ‖f_ref‖₂, trapezoidal L2 norms over the channel on the
                  solution's grid (a clustered grid's nodes count for their area)
    max error     max |f − f_ref| / max |f_ref|
For a field whose reference is (nearly) zero, e.g. v in a straight channel, the norm of the
reference velocity magnitude is used as the denominator instead (so the number stays a
relative error of the flow). The paper's metric is the mean relative L2 over (φ, c₊, c₋, u).

Balances (computed from the solution alone, second-order differences on its grid):
    ion flux     N±·e_x integrated over y at each station x; its spread relative to its
                 mean magnitude (0 for an exact steady state with impermeable walls)
    charge       ε² ∮ ∂ψ/∂n ds + ∫ (c₊ − c₋)/2 dA = 0 (Gauss: fluid charge = −wall charge),
                 relative to ∫ |c₊ − c₋|/2 dA
    volume flux  ∫ u dy at each station: spread relative to its mean magnitude
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from eofpinn.solution import FIELD_NAMES, PAPER_ERROR_FIELDS, Solution, trapezoid_weights

ZERO_REFERENCE = 1e-12


def on_grid(reference: Solution, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Reference fields interpolated onto the tensor grid (x, y)."""
    if reference.x.size == x.size and reference.y.size == y.size and np.allclose(reference.x, x) and np.allclose(reference.y, y):
        return dict(reference.fields)
    X, Y = np.meshgrid(x, y, indexing="ij")
    points = np.stack([X.ravel(), Y.ravel()], axis=-1)
    method = "cubic" if min(reference.x.size, reference.y.size) >= 4 else "linear"
    out = {}
    for name in FIELD_NAMES:
        interp = RegularGridInterpolator((reference.x, reference.y), reference.fields[name], method=method,
                                         bounds_error=False, fill_value=None)
        out[name] = interp(points).reshape(X.shape)
    return out


def field_errors(solution: Solution, reference: Solution) -> dict[str, dict[str, float]]:
    """Per-field relative L2 and max errors, plus the paper's mean over (φ, c₊, c₋, u)."""
    ref = on_grid(reference, solution.x, solution.y)
    weights = trapezoid_weights(solution.x, solution.y)

    def l2(values: np.ndarray) -> float:
        return float(np.sqrt(np.sum(weights * values**2)))

    velocity_norm = l2(np.hypot(ref["u"], ref["v"]))
    velocity_max = np.max(np.hypot(ref["u"], ref["v"]))
    out: dict[str, dict[str, float]] = {}
    for name in FIELD_NAMES:
        diff = solution.fields[name] - ref[name]
        norm, peak = l2(ref[name]), np.max(np.abs(ref[name]))
        if name in ("u", "v") and peak < ZERO_REFERENCE * max(velocity_max, 1.0):
            norm, peak = velocity_norm, velocity_max
        out[name] = {
            "relative_l2": l2(diff) / norm if norm > 0 else l2(diff),
            "max_error": float(np.max(np.abs(diff)) / peak) if peak > 0 else float(np.max(np.abs(diff))),
        }
    out["paper_mean"] = {
        "relative_l2": float(np.mean([out[n]["relative_l2"] for n in PAPER_ERROR_FIELDS])),
        "max_error": float(np.mean([out[n]["max_error"] for n in PAPER_ERROR_FIELDS])),
    }
    return out


def _trapezoid_y(values: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.trapezoid(values, y, axis=-1)


def balances(solution: Solution) -> dict[str, float]:
    """Discrete ion-flux, charge and volume-flux balances (see module docstring)."""
    p = solution.case.problem
    x, y, f = solution.x, solution.y, solution.fields
    d_dx = lambda a: np.gradient(a, x, axis=0, edge_order=2)  # noqa: E731
    d_dy = lambda a: np.gradient(a, y, axis=1, edge_order=2)  # noqa: E731
    paper = p.paper_model
    phi_x = d_dx(f["psi"]) - (0.0 if paper else p.field_hat)
    pe = 0.0 if paper else p.peclet
    out = {}
    for name, sign, delta in (("c_plus", 1.0, p.delta_plus), ("c_minus", -1.0, p.delta_minus)):
        c = f[name]
        flux_x = -delta * (d_dx(c) + sign * c * phi_x) + pe * f["u"] * c
        per_station = _trapezoid_y(flux_x, y)
        scale = max(np.mean(np.abs(per_station)), _trapezoid_y(np.abs(flux_x), y).mean(), 1e-300)
        out[f"ion_flux_spread_{name}"] = float(np.ptp(per_station) / scale)
        out[f"ion_flux_mean_{name}"] = float(np.mean(per_station))
    rho = 0.5 * (f["c_plus"] - f["c_minus"])
    fluid_charge = np.trapezoid(_trapezoid_y(rho, y), x)
    dpsi_dy = d_dy(f["psi"])
    wall_flux = np.trapezoid(-dpsi_dy[:, 0] + dpsi_dy[:, -1], x)  # outward normals −e_y, +e_y
    end_flux = 0.0
    if p.ends == "reservoir":
        dpsi_dx = d_dx(f["psi"])
        end_flux = _trapezoid_y(dpsi_dx[-1] - dpsi_dx[0], y)
    residual = p.debye_ratio**2 * (wall_flux + end_flux) + fluid_charge
    out["charge_balance"] = float(abs(residual) / max(np.trapezoid(_trapezoid_y(np.abs(rho), y), x), 1e-300))
    q = _trapezoid_y(f["u"], y)
    out["volume_flux_spread"] = float(np.ptp(q) / max(np.mean(np.abs(q)), 1e-300))
    return out
