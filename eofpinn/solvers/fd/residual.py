"""The discrete residual of the PNP–Stokes system on the MAC grid (torch, float64).

Conservative finite volumes, term by term as in physics.md §2, §7 and residuals.py (same
signs, pointwise form: every balance is divided by its control volume), with φ = ψ − Ê x and
the valences ẑ₊ > 0 > ẑ₋ (±1 for a symmetric salt; Z = ẑ₊ − ẑ₋):

    Poisson (cell)    ε² Σ_faces ∇ψ·n / V + (c₊ − c₋)/Z
    NP± (cell)        −Σ_faces N±·n / V,  N± = Scharfetter–Gummel flux of −δ±(∇c± + ẑ± c±∇φ) + Pe u c±
    Stokes-x (u face) ∇²u − ∂P/∂x − (1/Zε²)[(∂c₊/∂x + ẑ₊c₊∂φ/∂x)/ẑ₊ − (∂c₋/∂x + ẑ₋c₋∂φ/∂x)/ẑ₋] − Re(u·∇)u
    Stokes-y (v face) the same in y, − Re(u·∇)v
    Continuity (cell) Σ_faces u·n / V

The excess-pressure body force on a u (v) face is minus the sum of the two ions' SG
diffusion–migration fluxes through that same face divided by ẑ± (the bracket is −N±/δ± without
advection), so Boltzmann-distributed ions exert exactly no force, as in the continuous excess
form. Paper model: φ = ψ and Pe = 0 in NP, Stokes-x force +Ê(c̄₊ − c̄₋)/(Zε²) with face averages
c̄, no y force.

Walls: a ζ face takes ψ = ζ̂ in its wall gradient (second order, fluxes.py); a charge face
takes the imposed flux ∂ψ/∂y = ∓σ̂ into the Poisson balance (−∂ψ/∂n = σ̂, n into the fluid,
physics.md §7) and, wherever a wall value is needed (Boltzmann ion walls, output), the value
of the quadratic through the first two centres with that slope (`charge_wall_value`).

The Lagrange multipliers of the gauges are added to the continuity (λ_P) and NP (λ±) rows;
the gauge rows close the system. An open circuit makes Ê an unknown (`field_hat`) closed by
one bordered row: zero net current Σ_j (N₊ − N₋)·Δy_j through the outlet face column (the
same through every column: the scheme conserves charge face by face with no-flux walls).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from eofpinn.cases.model import Problem
from eofpinn.solvers.fd import ops
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.fluxes import (
    central_derivative, central_weights, charge_wall_value, sg_flux, three_point_derivative, x_divergence,
    x_face_pairs, y_divergence, y_gradient_faces,
)
from eofpinn.solvers.fd.grid import StaggeredGrid
from eofpinn.solvers.fd.layout import EQUATION_BLOCKS, Layout


@dataclass(frozen=True)
class Geometry:
    """Grid metrics as arrays of the evaluation backend (numpy or torch).

    x metrics are columns (k, 1) so that they broadcast over y: `dx` the scalar control-volume
    widths (n), `dx_centres` the distances between the scalar points either side of each u face
    (n_u; also the u control-volume widths), `face_weights` the linear interpolation weights of
    scalars to the u faces, `centre_weights` those of u to the scalar centres, and the spacings
    to the x neighbours of a scalar centre (`centre_left/right`) and of a u face (`u_left/right`,
    reservoir ends: mirror ghosts for ∂u/∂x = 0). On a uniform grid they all equal h (½).
    """

    length: float
    periodic: bool
    wall_distances: tuple[float, float]
    dx: object
    dx_centres: object
    centre_left: object
    centre_right: object
    u_left: object
    u_right: object
    face_weights: object
    centre_weights: object
    end_weight: float  # periodic: P(ℓ) = (1 − w) P_{n−1} + w (P_0 − Δp̂)
    dy: object
    dy_centres: object
    weights_centres: object  # three-point d/dy at the cell centres (walls at 0 and 1)
    weights_faces: object  # three-point d/dy at the interior faces

    @staticmethod
    def x_metrics(g: StaggeredGrid) -> dict[str, np.ndarray]:
        """The x metrics of `g` as numpy columns (see the class docstring)."""
        dx, dxc = g.dx, g.dx_centres
        if g.periodic:
            centre_left, centre_right = np.roll(dxc, 1), dxc
            u_left, u_right = dx, np.roll(dx, -1)  # u face k lies between cells k and k+1
            centre_weights = np.full(g.n, 0.5)  # the cell centre is the midpoint of its faces
        else:
            centre_left, centre_right = dxc[:-1], dxc[1:]
            u_left, u_right = np.concatenate([dxc[:1], dx]), np.concatenate([dx, dxc[-1:]])
            centre_weights = g.node_weights[1:]
        columns = dict(dx=dx, dx_centres=dxc, centre_left=centre_left, centre_right=centre_right,
                       u_left=u_left, u_right=u_right, face_weights=g.face_weights, centre_weights=centre_weights)
        return {k: np.asarray(v, dtype=float)[:, None] for k, v in columns.items()}


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
    valences: tuple[float, float] = (1.0, -1.0)
    charged: bool = False
    open_circuit: bool = False

    @property
    def valence_span(self) -> float:
        return self.valences[0] - self.valences[1]

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
        x_metrics = {k: conv(v) for k, v in Geometry.x_metrics(g).items()}
        end_weight = float(g.face_weights[-1]) if g.periodic else 0.5
        geometry = Geometry(g.length, g.periodic, g.wall_distances, **x_metrics, end_weight=end_weight,
                            dy=conv(g.dy), dy_centres=conv(g.dy_centres),
                            weights_centres=conv(central_weights(g.y_centres, 0.0, 1.0)),
                            weights_faces=conv(central_weights(g.y_faces[1:-1], 0.0, 1.0)))
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
        if boundary.charged:
            for key in ("charge_bottom", "charge_top", "charge_mask_bottom", "charge_mask_top"):
                bc[key] = conv(getattr(boundary, key))
        src = None if sources is None else {k: conv(v) for k, v in sources.items()}
        return cls(layout, geometry, problem.debye_ratio, problem.field_hat, problem.peclet,
                   problem.reynolds if problem.inertia else 0.0, problem.delta_plus, problem.delta_minus,
                   problem.paper_model, bc, boundary.pressure_jump, boundary.outlet_pressure_mean,
                   tuple(boundary.ion_mean), src, tuple(float(z) for z in problem.valences), boundary.charged,
                   layout.open_circuit)

    def end(self, name: str, side: str):
        return self.bc.get(f"{name}_{side}")


def _pairs(dp: DiscreteProblem, values, name: str):
    return x_face_pairs(values, dp.geometry.periodic, dp.end(name, "in"), dp.end(name, "out"))


def field_of(dp: DiscreteProblem, f: dict):
    """Ê: the unknown `field_hat` of an open circuit, else the applied field."""
    return f["field_hat"] if "field_hat" in f else dp.field_hat


def wall_potentials(dp: DiscreteProblem, psi):
    """ψ on the bottom and top wall faces: ζ̂ on a ζ face, `charge_wall_value` on a charge face."""
    bottom, top = dp.bc["psi_bottom"], dp.bc["psi_top"]
    if not dp.charged:
        return bottom, top
    d1, d2 = dp.geometry.wall_distances
    mask_b, mask_t = dp.bc["charge_mask_bottom"], dp.bc["charge_mask_top"]
    charged_b = charge_wall_value(psi[:, 0], psi[:, 1], dp.bc["charge_bottom"], d1, d2)
    charged_t = charge_wall_value(psi[:, -1], psi[:, -2], dp.bc["charge_top"], d1, d2)
    return mask_b * charged_b + (1.0 - mask_b) * bottom, mask_t * charged_t + (1.0 - mask_t) * top


def potential_drops(dp: DiscreteProblem, psi, field=None):
    """φ differences across x faces, and ψ differences across all y faces (walls included);
    `field` the Ê to use (default: the applied one)."""
    field = dp.field_hat if field is None else field
    a, b = _pairs(dp, psi, "psi")
    dpsi_x = b - a
    dphi_x = dpsi_x if dp.paper else dpsi_x - field * dp.geometry.dx_centres
    wall_bottom, wall_top = wall_potentials(dp, psi)
    bottom = psi[:, 0] - wall_bottom
    top = wall_top - psi[:, -1]
    dpsi_y = ops.cat([bottom[:, None], psi[:, 1:] - psi[:, :-1], top[:, None]], 1)
    return dphi_x, dpsi_y


def ion_fluxes(dp: DiscreteProblem, name: str, valence: float, delta: float, c, dphi_x, dpsi_y, u, v_full,
               psi=None):
    """SG fluxes N± through every x face (n_u, m) and every y face (n, m+1); `psi` is needed for
    Boltzmann walls with charge faces (their wall concentration follows the wall potential)."""
    geo = dp.geometry
    pe = 0.0 if dp.paper else dp.peclet
    a, b = _pairs(dp, c, name)
    dxc = geo.dx_centres
    flux_x = delta * sg_flux(a, b, valence * dphi_x - (pe / delta) * dxc * u, dxc)
    dyc = geo.dy_centres
    drift = valence * dpsi_y[:, 1:-1] - (pe / delta) * dyc * v_full[:, 1:-1]
    inner = delta * sg_flux(c[:, :-1], c[:, 1:], drift, dyc)
    d1 = geo.wall_distances[0]
    if dp.bc["boltzmann"]:
        c_bottom, c_top = dp.bc[f"{name}_bottom"], dp.bc[f"{name}_top"]
        if dp.charged:
            wall_bottom, wall_top = wall_potentials(dp, psi)
            mask_b, mask_t = dp.bc["charge_mask_bottom"], dp.bc["charge_mask_top"]
            c_bottom = mask_b * ops.exp(-valence * wall_bottom) + (1.0 - mask_b) * c_bottom
            c_top = mask_t * ops.exp(-valence * wall_top) + (1.0 - mask_t) * c_top
        bottom = delta * sg_flux(c_bottom, c[:, 0], valence * dpsi_y[:, 0], d1)
        top = delta * sg_flux(c[:, -1], c_top, valence * dpsi_y[:, -1], d1)
    else:
        bottom, top = dp.bc[f"flux_{name}_bottom"], dp.bc[f"flux_{name}_top"]
    return flux_x, ops.cat([bottom[:, None], inner, top[:, None]], 1)


def _x_neighbours_u(u, periodic: bool):
    if periodic:
        return ops.roll(u, 1), ops.roll(u, -1)
    g = ops.cat([u[:1], u, u[-1:]], 0)  # ∂u/∂x = 0 at the reservoir ends: mirror ghosts
    return g[:-2], g[2:]


def _x_laplacian_u(u, geo: Geometry):
    """∂²u/∂x² on the u control volumes [centre_k, centre_k+1] (three-point on a smooth grid)."""
    left, right = _x_neighbours_u(u, geo.periodic)
    return ((right - u) / geo.u_right - (u - left) / geo.u_left) / geo.dx_centres


def _interpolate(a, b, weights):
    """(1 − w) a + w b."""
    return a + weights * (b - a)


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


def excess_force(dp: DiscreteProblem, c_a, c_b, m_a, m_b, drop, h):
    """−[N₊/ẑ₊ − N₋/ẑ₋]/δ without advection: the SG diffusion–migration fluxes of both ions
    through a face, the bracket of the excess-pressure body force (zero for Boltzmann ions)."""
    z_plus, z_minus = dp.valences
    return -(sg_flux(c_a, c_b, z_plus * drop, h) / z_plus - sg_flux(m_a, m_b, z_minus * drop, h) / z_minus)


def stokes_x(dp: DiscreteProblem, f, dphi_x, v_full):
    geo, u = dp.geometry, f["u"]
    lap = _x_laplacian_u(u, geo) + y_divergence(y_gradient_faces(u, 0.0, 0.0, geo), geo)
    pa, pb = _pressure_pairs(dp, f["P"])
    ca, cb = _pairs(dp, f["c_plus"], "c_plus")
    ma, mb = _pairs(dp, f["c_minus"], "c_minus")
    scale = 1.0 / (dp.valence_span * dp.debye_ratio**2)
    dxc = geo.dx_centres
    if dp.paper:
        charge = _interpolate(ca - ma, cb - mb, geo.face_weights)
        res = lap - (pb - pa) / dxc + (scale * field_of(dp, f)) * charge
    else:
        force = excess_force(dp, ca, cb, ma, mb, dphi_x, dxc)
        res = lap - (pb - pa) / dxc - scale * force
    if dp.reynolds:
        res = res - dp.reynolds * _advection_x(dp, u, v_full)
    return res


def _advection_x(dp: DiscreteProblem, u, v_full):
    geo = dp.geometry
    left, right = _x_neighbours_u(u, geo.periodic)
    u_x = three_point_derivative(left, u, right, geo.u_left, geo.u_right)
    u_y = central_derivative(u, geo.weights_centres)
    v_centres = 0.5 * (v_full[:, :-1] + v_full[:, 1:])
    zero_col = ops.zeros_like(v_centres[0])
    va, vb = x_face_pairs(v_centres, geo.periodic, zero_col, zero_col)
    return u * u_x + _interpolate(va, vb, geo.face_weights) * u_y


def stokes_y(dp: DiscreteProblem, f, dpsi_y, v_full):
    geo, v = dp.geometry, f["v"]
    left, right = _x_neighbours_v(v, geo.periodic)
    dv_dy = y_divergence(v_full, geo)  # ∂v/∂y at the cell centres
    lap_x = ((right - v) / geo.centre_right - (v - left) / geo.centre_left) / geo.dx
    lap = lap_x + (dv_dy[:, 1:] - dv_dy[:, :-1]) / geo.dy_centres
    pressure = f["P"]
    res = lap - (pressure[:, 1:] - pressure[:, :-1]) / geo.dy_centres
    if not dp.paper:
        c, m, dyc = f["c_plus"], f["c_minus"], geo.dy_centres
        force = excess_force(dp, c[:, :-1], c[:, 1:], m[:, :-1], m[:, 1:], dpsi_y[:, 1:-1], dyc)
        res = res - force / (dp.valence_span * dp.debye_ratio**2)
    if dp.reynolds:
        res = res - dp.reynolds * _advection_y(dp, f["u"], v, left, right)
    return res


def _advection_y(dp: DiscreteProblem, u, v, left, right):
    geo = dp.geometry
    if geo.periodic:
        u_centres = _interpolate(ops.roll(u, 1), u, geo.centre_weights)
    else:
        u_centres = _interpolate(u[:-1], u[1:], geo.centre_weights)
    u_faces = 0.5 * (u_centres[:, :-1] + u_centres[:, 1:])
    v_y = central_derivative(v, geo.weights_faces)
    v_x = three_point_derivative(left, v, right, geo.centre_left, geo.centre_right)
    return u_faces * v_x + v * v_y


def psi_y_faces(dp: DiscreteProblem, psi):
    """∂ψ/∂y on all m+1 horizontal faces: a ζ face from its wall value (second order), a charge
    face the imposed −σ̂ (bottom) or +σ̂ (top), exactly, so that Gauss's law holds discretely."""
    faces = y_gradient_faces(psi, *wall_potentials(dp, psi), dp.geometry)
    if not dp.charged:
        return faces
    mask_b, mask_t = dp.bc["charge_mask_bottom"], dp.bc["charge_mask_top"]
    bottom = mask_b * (-dp.bc["charge_bottom"]) + (1.0 - mask_b) * faces[:, 0]
    top = mask_t * dp.bc["charge_top"] + (1.0 - mask_t) * faces[:, -1]
    return ops.cat([bottom[:, None], faces[:, 1:-1], top[:, None]], 1)


def poisson(dp: DiscreteProblem, f):
    geo, psi = dp.geometry, f["psi"]
    a, b = _pairs(dp, psi, "psi")
    lap = x_divergence((b - a) / geo.dx_centres, geo.periodic, geo.dx)
    lap = lap + y_divergence(psi_y_faces(dp, psi), geo)
    return dp.debye_ratio**2 * lap + (f["c_plus"] - f["c_minus"]) / dp.valence_span


def outlet_current(flux_plus_x, flux_minus_x):
    """(N₊ − N₋)·e_x on the outlet face column, to be weighted by Δy: the net current Î there
    (physics.md §7: the current density is F q D_ref/H (N̂₊ − N̂₋))."""
    return flux_plus_x[-1] - flux_minus_x[-1]


def gauge_terms(dp: DiscreteProblem, f, current=None) -> list[tuple[object, object, float]]:
    """Gauge rows as (quantity, weights, offset): row = Σ weights·quantity + offset."""
    geo, rows = dp.geometry, []
    if dp.layout.pressure_gauge:  # mean of P over the outlet x = ℓ (≡ x = 0 lowered by Δp̂)
        # Periodic cells are centred between the nodes: P(ℓ) = (1 − w) P_{n−1} + w (P_0 − Δp̂) at
        # the face x = ℓ (w = ½ on a uniform grid).
        w = geo.end_weight
        rows.append(((1.0 - w) * f["P"][-1] + w * f["P"][0], geo.dy, -w * dp.pressure_jump - dp.outlet_pressure_mean))
    if dp.layout.ion_gauge:  # area mean of the Slotboom variables c± e^{±ψ}
        area_weights = geo.dx * geo.dy[None, :] / geo.length
        for name, valence, target in (("c_plus", dp.valences[0], dp.ion_mean[0]),
                                      ("c_minus", dp.valences[1], dp.ion_mean[1])):
            rows.append((f[name] * ops.exp(valence * f["psi"]), area_weights, -target))
    if dp.layout.open_circuit:  # zero net current through the outlet cross-section
        rows.append((current, geo.dy, 0.0))
    return rows


def field_residuals(z, dp: DiscreteProblem) -> tuple[object, list]:
    """The PDE rows (EQUATION_BLOCKS order, flattened) and the gauge terms."""
    f = dp.layout.unpack(z)
    v_full = ops.pad_y(f["v"])
    dphi_x, dpsi_y = potential_drops(dp, f["psi"], field_of(dp, f))
    out = {"poisson": poisson(dp, f)}
    fluxes_x = {}
    for name, valence, delta, lam in (("c_plus", dp.valences[0], dp.delta_plus, "lambda_plus"),
                                      ("c_minus", dp.valences[1], dp.delta_minus, "lambda_minus")):
        flux_x, flux_y = ion_fluxes(dp, name, valence, delta, f[name], dphi_x, dpsi_y, f["u"], v_full, f["psi"])
        fluxes_x[name] = flux_x
        balance = -(x_divergence(flux_x, dp.geometry.periodic, dp.geometry.dx) + y_divergence(flux_y, dp.geometry))
        out["np_" + name[2:]] = balance + f[lam] if lam in f else balance
    out["stokes_x"] = stokes_x(dp, f, dphi_x, v_full)
    out["stokes_y"] = stokes_y(dp, f, dpsi_y, v_full)
    div = x_divergence(f["u"], dp.geometry.periodic, dp.geometry.dx) + y_divergence(v_full, dp.geometry)
    out["continuity"] = div + f["lambda_P"] if "lambda_P" in f else div
    if dp.sources is not None:
        out = {k: val - dp.sources[k] if k in dp.sources else val for k, val in out.items()}
    current = outlet_current(fluxes_x["c_plus"], fluxes_x["c_minus"]) if dp.layout.open_circuit else None
    return ops.cat([out[k].reshape(-1) for k in EQUATION_BLOCKS], 0), gauge_terms(dp, f, current)


def residual(z, dp: DiscreteProblem):
    """The full residual vector: PDE rows, then one row per gauge (numpy or torch)."""
    rows, gauges = field_residuals(z, dp)
    return ops.cat([rows] + [ops.total(q * w) + offset for q, w, offset in gauges], 0)
