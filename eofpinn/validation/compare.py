"""Compare a solution with a reference: per-field errors and balance checks.

Errors (the reference interpolated onto the solution's grid, cubic in each direction):
    relative L2   ‖f − f_ref‖₂ / ‖f_ref‖₂, trapezoidal L2 norms over the channel on the
                  solution's grid (a clustered grid's nodes count for their area)
    max error     max |f − f_ref| / max |f_ref|
For a field whose reference is (nearly) zero, e.g. v in a straight channel, the norm of the
reference velocity magnitude is used as the denominator instead (so the number stays a
relative error of the flow). The paper's metric is the mean relative L2 over (φ, c₊, c₋, u).

`velocity` is the error of the velocity vector, ‖|u − u_ref|‖ / ‖|u_ref|‖ (max: max |u − u_ref| /
max |u_ref|): the flow as one field. Where v is small beside u (at a ζ step v peaks at a few per
cent of u and is ~1e-4 of it elsewhere) v's own relative error asks far more of the flow than
u's does; this row says how far the flow as a whole is off, beside the per-component rows.

`p_excess` is the error of the excess pressure P = p − Π (physics.md §2; Π from each solution's
own c±), relative to max(‖P_ref‖, ‖|u_ref|‖) — the viscous scale of the flow where P_ref vanishes
(a straight channel without a pressure drop). p itself is dominated by the double layers'
osmotic pressure Π, (cosh ζ̂ − 1)/ε² at the walls: on cases/zeta_step.toml ‖p‖ ≈ 121 against
‖P‖ ≈ 3.8, so a relative L2 of 2e-2 in p can hide a P that is entirely wrong, and P is what the
flow feels (the induced pressure of a ζ step, less the osmotic pressure of its salt excess).

`p_shape` is the error of p with one constant left out: p − p_ref less its area mean, relative to
‖p_ref‖ as p's row. A periodic channel fixes p only up to a constant; the gauge (physics.md §3)
takes it from the mean of P = p − Π over the outlet section, and Π = (c₊ + c₋ − 2)/(2ε²) carries
c±'s errors there into every p multiplied by 1/(2ε²) (312 at ε = 0.04). So p's row can be far
off while the pressure field itself is right: `p_shape` says which (docs/method.md "What sets
the level of p on issue_asym").

Balances (`balances`: from the solution alone, on its own grid). Each is a conservation law of
the steady problem, zero for the exact solution:

    ion flux     Q±(x) = ∫₀¹ N±·e_x dy, N± = −δ± (∇c± + ẑ± c± ∇φ) + Pe u c± (paper model: φ = ψ in
                 NP, no advection): the same through every cross-section (impermeable walls).
                 `ion_flux_spread_*` = (max − min of Q± over the stations) / max(mean |Q±|,
                 mean ∫|N±·e_x| dy); `ion_flux_mean_*` = mean of Q±.
    volume flux  Q(x) = ∫₀¹ u dy; `volume_flux_spread` = (max − min of Q over the stations) /
                 max(mean |Q|, mean ∫|u| dy): the ion fluxes' scale. Over mean |Q| alone it
                 divided by zero where the flow cancels across a section (walls of opposite ζ,
                 patches that nearly balance): an FD run of a straight channel with ζ̂ and −ζ̂ on
                 its walls, whose Q is zero to rounding, gave 8.4e-2 on 33 × 64 nodes.
    charge       ε² ∮ ∂ψ/∂n ds + ∫ (c₊ − c₋)/Z dA = 0 (Gauss: fluid charge = −wall charge; with
                 reservoir ends their ε² ∫ ∂ψ/∂n dy too; Z = ẑ₊ − ẑ₋, 2 for a z:z salt);
                 `charge_balance` = |left side| / ∫ |c₊ − c₋|/Z dA.

How they are discretised, so that they measure the solution and not the quadrature. An FD
solution is a finite-volume solution and is checked in the scheme's own discrete form; any other
solution (PINN, exact) is a set of point samples of smooth fields and is checked with high-order
rules:
- x flux, FD: at the midpoints between neighbouring x nodes, the Scharfetter–Gummel flux between
  the two nodes, −δ± (B(Δ) c_b − B(−Δ) c_a)/h, drift Δ = ±(φ_b − φ_a) − (Pe/δ±) h ū
  (fd/fluxes.py; φ = ψ − Ê x): the x flux the scheme conserves, exact for x-independent fields
  and for ions in Boltzmann equilibrium along the segment.
- x flux, sampled: at every node x_i, −δ± ∂/∂x [c± e^{±(ψ − ψ_i)}] ± δ± Ê c± + Pe u c± (the
  Slotboom form of −δ± (∂c±/∂x ± c± ∂ψ/∂x); paper model without the last two terms), the
  derivative from the quartic through the five nearest nodes (periodic ends: wrapped across
  x = ℓ ≡ 0; reservoir ends: shifted inwards). c± e^{±ψ} is smooth across a double layer where
  c± itself is not; the applied field enters exactly.
  Either way, differencing c± and φ separately (eofpinn ≤ 0.1) subtracts a diffusion and a
  migration flux each up to ~200× the net flux inside the double layer near a ζ̂ step: their
  separate truncation errors gave ion-flux spreads of 1–12 on FD runs whose own fluxes are
  conserved to 1e-12.
- y integrals, FD: the y grid is both walls and the cell centres in between (fd/grid.py); the
  midpoint rule over the cells (heights recovered from the centres) is the quadrature of the
  scheme's own fluxes, and the wall values are boundary data with no weight. Sampled: the
  composite quadratic rule (Simpson's rule on unequal intervals; with an odd number of intervals
  the last one from the quadratic through the last three nodes). The trapezoidal rule on the FD
  grid (half a cell between the wall and the first centre) alone made charge imbalances of
  1e-3–1e-2 and volume-flux spreads of 5e-4–1e-2.
- x integrals (charge): the composite quadratic rule. ∂ψ/∂n on the walls (and ∂ψ/∂x at
  reservoir ends): one-sided, from the quartic through the boundary value and the four nearest
  nodes (fourth order; the double layer is the steepest thing on the grid).

What remains is the solution's own inconsistency, at the resolution of its grid. FD with
reservoir ends (the nodes carry the unknowns): ion-flux spreads ~1e-4 on 41 × 42 nodes
(cases/zeta_step.toml). FD with periodic ends: the output nodes carry values interpolated
linearly between cells, an O(h²) error in x: cases/patterned_zeta.toml gives 1.1e-2, 2.8e-3,
7e-4 on 41, 81, 161 x nodes. The sampled form's own error, measured on that 161-node FD
solution treated as samples and thinned in x: 4.9e-4, 5.6e-4, 2.2e-3 at 161, 81, 41 nodes. A
PINN must be evaluated on a grid that resolves its steepest layer (double layer, ζ̂
transitions; `[pinn.records] eval_nx`, `eval_ny`) for the balances to mean anything.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from eofpinn.solution import FIELD_NAMES, PAPER_ERROR_FIELDS, Solution, trapezoid_weights

ZERO_REFERENCE = 1e-12
# Fields whose reference may vanish identically (v in a straight channel, p in the paper model
# without a pressure drop): measured against the velocity scale (`field_errors`, and the training
# histories: solvers/pinn/evaluation.py).
VANISHING_FIELDS = ("u", "v", "p")
BOUNDARY_STENCIL = 5  # nodes of the one-sided ∂ψ/∂n at walls and reservoir ends
SLOTBOOM_STENCIL = 5  # nodes of ∂/∂x [c± e^{±ψ}] in the ion flux of a sampled solution


def on_grid(reference: Solution, x: np.ndarray, y: np.ndarray,
            extra: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Reference fields, and the arrays of `extra` given on the reference's grid, interpolated
    onto the tensor grid (x, y)."""
    fields = {**reference.fields, **(extra or {})}
    if reference.x.size == x.size and reference.y.size == y.size and np.allclose(reference.x, x) and np.allclose(reference.y, y):
        return fields
    X, Y = np.meshgrid(x, y, indexing="ij")
    points = np.stack([X.ravel(), Y.ravel()], axis=-1)
    method = "cubic" if min(reference.x.size, reference.y.size) >= 4 else "linear"
    out = {}
    for name, values in fields.items():
        interp = RegularGridInterpolator((reference.x, reference.y), values, method=method,
                                         bounds_error=False, fill_value=None)
        out[name] = interp(points).reshape(X.shape)
    return out


def field_errors(solution: Solution, reference: Solution) -> dict[str, dict[str, float]]:
    """Per-field relative L2 and max errors, plus the paper's mean over (φ, c₊, c₋, u)."""
    # The reference's own P, interpolated: rebuilt from interpolated p and c±, the interpolation
    # errors of p and of Π (both ∝ 1/ε² in the layers) would not cancel.
    ref = on_grid(reference, solution.x, solution.y, {"P": reference.excess_pressure})
    weights = trapezoid_weights(solution.x, solution.y)

    def l2(values: np.ndarray) -> float:
        return float(np.sqrt(np.sum(weights * values**2)))

    velocity_norm = l2(np.hypot(ref["u"], ref["v"]))
    velocity_max = np.max(np.hypot(ref["u"], ref["v"]))
    out: dict[str, dict[str, float]] = {}
    for name in FIELD_NAMES:
        diff = solution.fields[name] - ref[name]
        norm, peak = l2(ref[name]), np.max(np.abs(ref[name]))
        if name in VANISHING_FIELDS and peak < ZERO_REFERENCE * max(velocity_max, 1.0):
            # the RMS error over the peak speed: √A · max|u_ref| (A = Σ weights, the area)
            norm, peak = velocity_max * float(np.sqrt(np.sum(weights))), velocity_max
        out[name] = {
            "relative_l2": l2(diff) / norm if norm > 0 else l2(diff),
            "max_error": float(np.max(np.abs(diff)) / peak) if peak > 0 else float(np.max(np.abs(diff))),
        }
        if name == "v":  # the flow as one field, beside its components
            speed_error = np.hypot(solution.fields["u"] - ref["u"], solution.fields["v"] - ref["v"])
            worst = float(np.max(speed_error))
            out["velocity"] = {
                "relative_l2": l2(speed_error) / velocity_norm if velocity_norm > 0 else l2(speed_error),
                "max_error": worst / velocity_max if velocity_max > 0 else worst,
            }
    excess_ref = ref["P"]
    excess = solution.excess_pressure - excess_ref
    excess_norm = max(l2(excess_ref), velocity_norm)
    excess_peak = max(float(np.max(np.abs(excess_ref))), velocity_max)
    out["p_excess"] = {
        "relative_l2": l2(excess) / excess_norm if excess_norm > 0 else l2(excess),
        "max_error": float(np.max(np.abs(excess)) / excess_peak) if excess_peak > 0 else float(np.max(np.abs(excess))),
    }
    # p up to a constant: the level that the pressure gauge fixes left out (see the module's text)
    level = float(np.sum(weights * (solution.fields["p"] - ref["p"])) / np.sum(weights))
    shape = solution.fields["p"] - ref["p"] - level
    norm, peak = l2(ref["p"]), float(np.max(np.abs(ref["p"])))
    out["p_shape"] = {
        "relative_l2": l2(shape) / norm if norm > 0 else l2(shape),
        "max_error": float(np.max(np.abs(shape)) / peak) if peak > 0 else float(np.max(np.abs(shape))),
    }
    out["paper_mean"] = {
        "relative_l2": float(np.mean([out[n]["relative_l2"] for n in PAPER_ERROR_FIELDS])),
        "max_error": float(np.mean([out[n]["max_error"] for n in PAPER_ERROR_FIELDS])),
    }
    return out


def _lagrange_derivative_weights(nodes: np.ndarray, at: float) -> np.ndarray:
    """w with f'(at) ≈ Σ_k w_k f(nodes_k): the derivative of the interpolating polynomial."""
    nodes = np.asarray(nodes, dtype=float)
    weights = np.empty(nodes.size)
    for k in range(nodes.size):
        others = np.delete(nodes, k)
        products = [np.prod(np.delete(at - others, skip)) for skip in range(others.size)]
        weights[k] = np.sum(products) / np.prod(nodes[k] - others)
    return weights


def quadratic_rule_weights(t: np.ndarray) -> np.ndarray:
    """Weights of the composite quadratic rule (Simpson's rule on unequal intervals) on the
    nodes t: each pair of intervals integrates the quadratic through its three nodes exactly;
    with an odd number of intervals the last one integrates the quadratic through the last
    three nodes over itself. Two nodes: the trapezoidal rule."""
    t = np.asarray(t, dtype=float)
    weights = np.zeros(t.size)
    if t.size < 3:
        weights[:] = 0.5 * (t[-1] - t[0])
        return weights

    def add(first: int, lower: float, upper: float) -> None:
        p = t[first:first + 3]
        for k in range(3):
            a, b = np.delete(p, k)
            antiderivative = lambda s: s**3 / 3.0 - (a + b) * s**2 / 2.0 + a * b * s  # noqa: E731
            weights[first + k] += (antiderivative(upper) - antiderivative(lower)) / ((p[k] - a) * (p[k] - b))

    last = t.size - 1
    for first in range(0, last - 1, 2):
        add(first, t[first], t[first + 2])
    if last % 2:
        add(last - 2, t[last - 1], t[last])
    return weights


def cell_faces(y: np.ndarray) -> np.ndarray | None:
    """The cell faces y_0 = y[0] < … < y_m = y[-1] if y is a finite-volume output grid — the two
    boundaries and the m cell centres between them, each centre midway between its faces —
    else None."""
    if y.size < 3:
        return None
    faces = np.empty(y.size - 1)
    faces[0] = y[0]
    for j, centre in enumerate(y[1:-1]):
        faces[j + 1] = 2.0 * centre - faces[j]
    tolerance = 1e-9 * (y[-1] - y[0])
    inside = np.all(faces[:-1] < y[1:-1]) and np.all(y[1:-1] < faces[1:])
    return faces if inside and abs(faces[-1] - y[-1]) <= tolerance else None


def y_quadrature(y: np.ndarray, finite_volume: bool) -> np.ndarray:
    """Weights of ∫₀¹ f dy from the values at y (see the module docstring): with `finite_volume`
    (an FD solution, whose grid is the walls and the cell centres) the midpoint rule over the
    cells, zero weight on the walls; otherwise the composite quadratic rule."""
    faces = cell_faces(y) if finite_volume else None
    if faces is None:
        return quadratic_rule_weights(y)
    weights = np.zeros(y.size)
    weights[1:-1] = np.diff(faces)
    return weights


def _boundary_derivatives(values: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d/dt along axis 0 at t[0] and t[-1], one-sided from the quartic through the five nearest
    nodes (fourth order)."""
    n = min(BOUNDARY_STENCIL, t.size)
    first = _lagrange_derivative_weights(t[:n], t[0]) @ values[:n].reshape(n, -1)
    last = _lagrange_derivative_weights(t[-n:], t[-1]) @ values[-n:].reshape(n, -1)
    return first.reshape(values.shape[1:]), last.reshape(values.shape[1:])


def station_ion_fluxes(solution: Solution, name: str, valence: float,
                       delta: float) -> tuple[np.ndarray, np.ndarray]:
    """(x of the balance stations, N±·e_x there (stations, ny)) (see the module docstring): for an
    FD solution the Scharfetter–Gummel flux between neighbouring nodes (stations: the midpoints),
    otherwise the Slotboom form at every distinct node (stations: the nodes; periodic ends: all
    but the repeated x = ℓ)."""
    p = solution.case.problem
    x, f = solution.x, solution.fields
    field, peclet = (0.0, 0.0) if p.paper_model else (p.field_hat, p.peclet)
    c, psi, u = f[name], f["psi"], f["u"]
    if solution.solver == "fd":
        h = np.diff(x)[:, None]
        drift = valence * (psi[1:] - psi[:-1] - field * h) - (peclet / delta) * h * 0.5 * (u[1:] + u[:-1])
        return 0.5 * (x[1:] + x[:-1]), delta * (_bernoulli(drift) * c[:-1] - _bernoulli(-drift) * c[1:]) / h
    index, weights = _x_stencils(x, p.ends == "periodic")
    stations = np.arange(index.shape[0])  # node i is station i (periodic: all but the repeated x = ℓ)
    # −δ(∂c/∂x + ẑ c ∂ψ/∂x) = −δ ∂/∂x [c e^{ẑ(ψ − ψ_i)}] at node i: c e^{ẑψ} is smooth across a double layer.
    slotboom = c[index] * np.exp(valence * (psi[index] - psi[stations][:, None, :]))
    gradient = np.einsum("ik,ikj->ij", weights, slotboom)
    return x[stations], -delta * gradient + valence * delta * field * c[stations] + peclet * u[stations] * c[stations]


def _x_stencils(x: np.ndarray, periodic: bool) -> tuple[np.ndarray, np.ndarray]:
    """Node indices (stations, k) and weights of d/dx at every station from the SLOTBOOM_STENCIL
    nearest nodes: centred, wrapped across x = ℓ ≡ 0 with periodic ends (whose last node repeats the
    first and is no station), shifted inwards near reservoir ends."""
    width = min(SLOTBOOM_STENCIL, x.size - 1 if periodic else x.size)
    half = width // 2
    rows, offsets = [], []
    if periodic:
        count, period = x.size - 1, x[-1] - x[0]
        for i in range(count):
            k = np.arange(i - half, i - half + width)
            rows.append(k % count)
            offsets.append(x[k % count] + period * np.floor_divide(k, count) - x[i])
    else:
        for i in range(x.size):
            first = min(max(i - half, 0), x.size - width)
            rows.append(np.arange(first, first + width))
            offsets.append(x[rows[-1]] - x[i])
    weights = np.array([_lagrange_derivative_weights(o, 0.0) for o in offsets])
    return np.array(rows), weights


def _bernoulli(s: np.ndarray) -> np.ndarray:
    """B(s) = s / (eˢ − 1), its Taylor series near 0 (as fd/fluxes.py, without importing torch)."""
    small = np.abs(s) < 1e-5
    safe = np.clip(np.where(small, 1.0, s), -600.0, 600.0)
    return np.where(small, 1.0 - 0.5 * s + s * s / 12.0, safe / np.expm1(safe))


def flux_scale(per_station: np.ndarray, magnitude: np.ndarray) -> float:
    """What a flux spread is relative to (module docstring): max(mean |Q|, mean ∫|density| dy) over
    the stations, Q the flux through each (an ion's, or the volume's) and `magnitude` the integral
    of its density's absolute value."""
    return max(float(np.mean(np.abs(per_station))), float(np.mean(magnitude)), 1e-300)


def section_fluxes(solution: Solution) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Each conserved flux through the cross-sections: {"c_plus", "c_minus", "volume"} → (x of
    the stations, the flux Q through each, the scale its spread is relative to: `flux_scale`).
    The ions' stations are those of `station_ion_fluxes`; the volume flux's are the nodes."""
    p = solution.case.problem
    wy = y_quadrature(solution.y, finite_volume=solution.solver == "fd")
    out = {}
    for name, valence, delta in (("c_plus", p.valence_plus, p.delta_plus), ("c_minus", p.valence_minus, p.delta_minus)):
        stations, flux_x = station_ion_fluxes(solution, name, valence, delta)
        per_station = flux_x @ wy
        out[name] = (stations, per_station, flux_scale(per_station, np.abs(flux_x) @ wy))
    u = solution.fields["u"]
    q = u @ wy
    out["volume"] = (solution.x, q, flux_scale(q, np.abs(u) @ wy))
    return out


def balances(solution: Solution) -> dict[str, float]:
    """Ion-flux, charge and volume-flux balances (see the module docstring)."""
    p = solution.case.problem
    x, y, f = solution.x, solution.y, solution.fields
    wy = y_quadrature(y, finite_volume=solution.solver == "fd")
    wx = quadratic_rule_weights(x)
    fluxes = section_fluxes(solution)
    out = {}
    for name in ("c_plus", "c_minus"):
        _, per_station, scale = fluxes[name]
        out[f"ion_flux_spread_{name}"] = float(np.ptp(per_station) / scale)
        out[f"ion_flux_mean_{name}"] = float(np.mean(per_station))
    rho = (f["c_plus"] - f["c_minus"]) / (p.valence_plus - p.valence_minus)
    fluid_charge = wx @ rho @ wy
    psi_y_bottom, psi_y_top = _boundary_derivatives(f["psi"].T, y)
    wall_flux = wx @ (-psi_y_bottom + psi_y_top)  # outward normals −e_y, +e_y
    end_flux = 0.0
    if p.ends == "reservoir":
        psi_x_inlet, psi_x_outlet = _boundary_derivatives(f["psi"], x)
        end_flux = (psi_x_outlet - psi_x_inlet) @ wy
    residual = p.debye_ratio**2 * (wall_flux + end_flux) + fluid_charge
    out["charge_balance"] = float(abs(residual) / max(wx @ np.abs(rho) @ wy, 1e-300))
    _, q, scale = fluxes["volume"]
    out["volume_flux_spread"] = float(np.ptp(q) / scale)
    return out
