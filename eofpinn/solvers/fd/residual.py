"""The discrete residual of the PNP–Stokes system on the MAC grid (torch, float64).

Conservative finite volumes, term by term as in physics.md §2 and residuals.py (same signs,
pointwise form: every balance is divided by its control volume), with φ = ψ − Ê x:

    Poisson (cell)    ε² Σ_faces ∇ψ·n / V + (c₊ − c₋)/2
    NP± (cell)        −Σ_faces N±·n / V,  N± = Scharfetter–Gummel flux of −δ±(∇c± ± c±∇φ) + Pe u c±
    Stokes-x (u face) ∇²u − ∂P/∂x − (1/2ε²)[(∂c₊/∂x + c₊∂φ/∂x) + (∂c₋/∂x − c₋∂φ/∂x)] − Re(u·∇)u
    Stokes-y (v face) ∇²v − ∂P/∂y − (1/2ε²)[(∂c₊/∂y + c₊∂φ/∂y) + (∂c₋/∂y − c₋∂φ/∂y)] − Re(u·∇)v
    Continuity (cell) Σ_faces u·n / V

The excess-pressure body force on a u (v) face is minus the sum of the two ions' SG
diffusion–migration fluxes through that same face (the bracket is −N±/δ± without advection),
so Boltzmann-distributed ions exert exactly no force, as in the continuous excess form.
Paper model: φ = ψ and Pe = 0 in NP, Stokes-x force +Ê(c̄₊ − c̄₋)/(2ε²) with face averages c̄,
no y force. The Lagrange multipliers of the gauges are added to the continuity (λ_P) and NP
(λ±) rows; the gauge rows close the system.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from eofpinn.cases.model import Problem
from eofpinn.solvers.fd import ops
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.fluxes import (
    central_derivative, central_weights, sg_flux, x_divergence, x_face_pairs, y_divergence, y_gradient_faces,
)
from eofpinn.solvers.fd.layout import EQUATION_BLOCKS, Layout


@dataclass(frozen=True)
class Geometry:
    """Grid metrics as arrays of the evaluation backend (numpy or torch)."""

    hx: float
    length: float
    periodic: bool
    wall_distances: tuple[float, float]
    dy: object
    dy_centres: object
    weights_centres: object  # three-point d/dy at the cell centres (walls at 0 and 1)
    weights_faces: object  # three-point d/dy at the interior faces


@dataclass(frozen=True)
class DiscreteProblem:
    """A problem on a grid, ready for `residual`: parameters, boundary data and sources."""

    layout: Layout
    geometry: Geometry
    debye_ratio: float
    field_hat: float
    peclet: float
    reynolds: float
    delta_plus: float
    delta_minus: float
    paper: bool
    bc: dict
    pressure_jump: float
    outlet_pressure_mean: float
    ion_mean: tuple[float, float]
    sources: dict | None = None

    @classmethod
    def build(cls, problem: Problem, layout: Layout, boundary: BoundaryData, sources: dict | None = None,
              backend: str = "numpy"):
        if backend == "torch":
            def conv(a):
                return torch.as_tensor(np.asarray(a, dtype=float), dtype=torch.float64)
        else:
            def conv(a):
                return np.asarray(a, dtype=float)
        g = layout.grid
        geometry = Geometry(g.hx, g.length, g.periodic, g.wall_distances, conv(g.dy), conv(g.dy_centres),
                            conv(central_weights(g.y_centres, 0.0, 1.0)),
                            conv(central_weights(g.y_faces[1:-1], 0.0, 1.0)))
        bc = {"psi_bottom": conv(boundary.psi_bottom), "psi_top": conv(boundary.psi_top)}
        for key, value in (boundary.c_wall or {}).items():
            bc[key] = conv(value)
        for key, value in boundary.ion_wall_flux.items():
            bc["flux_" + key] = conv(value)
        for end_name, end in (("in", boundary.inlet), ("out", boundary.outlet)):
            if end is not None:
                bc.update({f"psi_{end_name}": conv(end.psi), f"c_plus_{end_name}": conv(end.c_plus),
                           f"c_minus_{end_name}": conv(end.c_minus), f"P_{end_name}": conv(end.pressure)})
        bc["boltzmann"] = boundary.c_wall is not None
        src = None if sources is None else {k: conv(v) for k, v in sources.items()}
        return cls(layout, geometry, problem.debye_ratio, problem.field_hat, problem.peclet,
                   problem.reynolds if problem.inertia else 0.0, problem.delta_plus, problem.delta_minus,
                   problem.paper_model, bc, boundary.pressure_jump, boundary.outlet_pressure_mean,
                   tuple(boundary.ion_mean), src)

    def end(self, name: str, side: str):
        return self.bc.get(f"{name}_{side}")


def _pairs(dp: DiscreteProblem, values, name: str):
    return x_face_pairs(values, dp.geometry.periodic, dp.end(name, "in"), dp.end(name, "out"))


def potential_drops(dp: DiscreteProblem, psi):
    """φ differences across x faces, and ψ differences across all y faces (walls included)."""
    a, b = _pairs(dp, psi, "psi")
    dpsi_x = b - a
    dphi_x = dpsi_x if dp.paper else dpsi_x - dp.field_hat * dp.geometry.hx
    bottom = psi[:, 0] - dp.bc["psi_bottom"]
    top = dp.bc["psi_top"] - psi[:, -1]
    dpsi_y = ops.cat([bottom[:, None], psi[:, 1:] - psi[:, :-1], top[:, None]], 1)
    return dphi_x, dpsi_y


def ion_fluxes(dp: DiscreteProblem, name: str, sign: float, delta: float, c, dphi_x, dpsi_y, u, v_full):
    """SG fluxes N± through every x face (n_u, m) and every y face (n, m+1)."""
    geo = dp.geometry
    pe = 0.0 if dp.paper else dp.peclet
    a, b = _pairs(dp, c, name)
    flux_x = delta * sg_flux(a, b, sign * dphi_x - (pe / delta) * geo.hx * u, geo.hx)
    dyc = geo.dy_centres
    drift = sign * dpsi_y[:, 1:-1] - (pe / delta) * dyc * v_full[:, 1:-1]
    inner = delta * sg_flux(c[:, :-1], c[:, 1:], drift, dyc)
    d1 = geo.wall_distances[0]
    if dp.bc["boltzmann"]:
        bottom = delta * sg_flux(dp.bc[f"{name}_bottom"], c[:, 0], sign * dpsi_y[:, 0], d1)
        top = delta * sg_flux(c[:, -1], dp.bc[f"{name}_top"], sign * dpsi_y[:, -1], d1)
    else:
        bottom, top = dp.bc[f"flux_{name}_bottom"], dp.bc[f"flux_{name}_top"]
    return flux_x, ops.cat([bottom[:, None], inner, top[:, None]], 1)


def _x_laplacian_u(u, periodic: bool, h: float):
    if periodic:
        return (ops.roll(u, -1) - 2 * u + ops.roll(u, 1)) / h**2
    g = ops.cat([u[:1], u, u[-1:]], 0)  # ∂u/∂x = 0 at the reservoir ends
    return (g[2:] - 2 * g[1:-1] + g[:-2]) / h**2


def _x_neighbours_v(v, periodic: bool):
    if periodic:
        return ops.roll(v, 1), ops.roll(v, -1)
    zero = ops.zeros_like(v[:1])  # v = 0 at the reservoir ends
    return ops.cat([zero, v[:-1]], 0), ops.cat([v[1:], zero], 0)


def _pressure_pairs(dp: DiscreteProblem, pressure):
    a, b = _pairs(dp, pressure, "P")
    if dp.geometry.periodic and dp.pressure_jump:
        b = ops.cat([b[:-1], b[-1:] - dp.pressure_jump], 0)
    return a, b


def stokes_x(dp: DiscreteProblem, f, dphi_x, v_full):
    geo, u = dp.geometry, f["u"]
    lap = _x_laplacian_u(u, geo.periodic, geo.hx) + y_divergence(y_gradient_faces(u, 0.0, 0.0, geo), geo)
    pa, pb = _pressure_pairs(dp, f["P"])
    ca, cb = _pairs(dp, f["c_plus"], "c_plus")
    ma, mb = _pairs(dp, f["c_minus"], "c_minus")
    scale = 1.0 / (2.0 * dp.debye_ratio**2)
    if dp.paper:
        res = lap - (pb - pa) / geo.hx + (scale * dp.field_hat * 0.5) * ((ca + cb) - (ma + mb))
    else:
        force = -(sg_flux(ca, cb, dphi_x, geo.hx) + sg_flux(ma, mb, -dphi_x, geo.hx))
        res = lap - (pb - pa) / geo.hx - scale * force
    if dp.reynolds:
        res = res - dp.reynolds * _advection_x(dp, u, v_full)
    return res


def _advection_x(dp: DiscreteProblem, u, v_full):
    geo = dp.geometry
    g = ops.cat([u[-1:], u, u[:1]] if geo.periodic else [u[:1], u, u[-1:]], 0)
    u_x = (g[2:] - g[:-2]) / (2 * geo.hx)
    u_y = central_derivative(u, geo.weights_centres)
    v_centres = 0.5 * (v_full[:, :-1] + v_full[:, 1:])
    zero_col = ops.zeros_like(v_centres[0])
    va, vb = x_face_pairs(v_centres, geo.periodic, zero_col, zero_col)
    return u * u_x + 0.5 * (va + vb) * u_y


def stokes_y(dp: DiscreteProblem, f, dpsi_y, v_full):
    geo, v = dp.geometry, f["v"]
    left, right = _x_neighbours_v(v, geo.periodic)
    dv_dy = y_divergence(v_full, geo)  # ∂v/∂y at the cell centres
    lap = (left - 2 * v + right) / geo.hx**2 + (dv_dy[:, 1:] - dv_dy[:, :-1]) / geo.dy_centres
    pressure = f["P"]
    res = lap - (pressure[:, 1:] - pressure[:, :-1]) / geo.dy_centres
    if not dp.paper:
        c, m, dyc = f["c_plus"], f["c_minus"], geo.dy_centres
        drop = dpsi_y[:, 1:-1]
        force = -(sg_flux(c[:, :-1], c[:, 1:], drop, dyc) + sg_flux(m[:, :-1], m[:, 1:], -drop, dyc))
        res = res - force / (2.0 * dp.debye_ratio**2)
    if dp.reynolds:
        res = res - dp.reynolds * _advection_y(dp, f["u"], v, left, right)
    return res


def _advection_y(dp: DiscreteProblem, u, v, left, right):
    geo = dp.geometry
    u_nodes = 0.5 * (u + ops.roll(u, 1)) if geo.periodic else 0.5 * (u[:-1] + u[1:])
    u_faces = 0.5 * (u_nodes[:, :-1] + u_nodes[:, 1:])
    v_y = central_derivative(v, geo.weights_faces)
    return u_faces * (right - left) / (2 * geo.hx) + v * v_y


def poisson(dp: DiscreteProblem, f):
    geo, psi = dp.geometry, f["psi"]
    a, b = _pairs(dp, psi, "psi")
    lap = x_divergence((b - a) / geo.hx, geo.periodic, geo.hx)
    lap = lap + y_divergence(y_gradient_faces(psi, dp.bc["psi_bottom"], dp.bc["psi_top"], geo), geo)
    return dp.debye_ratio**2 * lap + 0.5 * (f["c_plus"] - f["c_minus"])


def gauge_terms(dp: DiscreteProblem, f) -> list[tuple[object, object, float]]:
    """Gauge rows as (quantity, weights, offset): row = Σ weights·quantity + offset."""
    geo, rows = dp.geometry, []
    if dp.layout.pressure_gauge:  # mean of P over the outlet x = ℓ (≡ x = 0 lowered by Δp̂)
        # Periodic cells are centred at (i+½)h: P(ℓ) = ½ (P_{n−1} + P_0 − Δp̂), the face x = ℓ.
        rows.append((0.5 * (f["P"][0] + f["P"][-1]), geo.dy, -0.5 * dp.pressure_jump - dp.outlet_pressure_mean))
    if dp.layout.ion_gauge:  # area mean of the Slotboom variables c± e^{±ψ}
        area_weights = (geo.dy * (geo.hx / geo.length))[None, :]
        for name, sign, target in (("c_plus", 1.0, dp.ion_mean[0]), ("c_minus", -1.0, dp.ion_mean[1])):
            rows.append((f[name] * ops.exp(sign * f["psi"]), area_weights, -target))
    return rows


def field_residuals(z, dp: DiscreteProblem) -> tuple[object, list]:
    """The PDE rows (EQUATION_BLOCKS order, flattened) and the gauge terms."""
    f = dp.layout.unpack(z)
    v_full = ops.pad_y(f["v"])
    dphi_x, dpsi_y = potential_drops(dp, f["psi"])
    out = {"poisson": poisson(dp, f)}
    for name, sign, delta, lam in (("c_plus", 1.0, dp.delta_plus, "lambda_plus"),
                                   ("c_minus", -1.0, dp.delta_minus, "lambda_minus")):
        flux_x, flux_y = ion_fluxes(dp, name, sign, delta, f[name], dphi_x, dpsi_y, f["u"], v_full)
        balance = -(x_divergence(flux_x, dp.geometry.periodic, dp.geometry.hx) + y_divergence(flux_y, dp.geometry))
        out["np_" + name[2:]] = balance + f[lam] if lam in f else balance
    out["stokes_x"] = stokes_x(dp, f, dphi_x, v_full)
    out["stokes_y"] = stokes_y(dp, f, dpsi_y, v_full)
    div = x_divergence(f["u"], dp.geometry.periodic, dp.geometry.hx) + y_divergence(v_full, dp.geometry)
    out["continuity"] = div + f["lambda_P"] if "lambda_P" in f else div
    if dp.sources is not None:
        out = {k: val - dp.sources[k] if k in dp.sources else val for k, val in out.items()}
    return ops.cat([out[k].reshape(-1) for k in EQUATION_BLOCKS], 0), gauge_terms(dp, f)


def residual(z, dp: DiscreteProblem):
    """The full residual vector: PDE rows, then one row per gauge (numpy or torch)."""
    rows, gauges = field_residuals(z, dp)
    return ops.cat([rows] + [ops.total(q * w) + offset for q, w, offset in gauges], 0)
