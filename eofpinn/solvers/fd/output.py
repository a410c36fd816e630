"""From the staggered unknowns to the output node fields of a `Solution`.

Output grid: x nodes 0 … ℓ (all nx of them; periodic x = ℓ repeats x = 0 with P lowered by
Δp̂), y = [0, cell centres, 1]. Reservoir ends (vertex-centred x): scalars are already at the
interior nodes and u is interpolated linearly from the two faces either side of a node (∂u/∂x = 0
gives u at an end). Periodic ends (cell-centred x, grid.py): u faces lie on the nodes, and scalars,
wall values and v are interpolated linearly from the two cells either side of a node (the mean
on a uniform grid; `StaggeredGrid.node_weights`; second order; c± via
their Slotboom variables c± e^{±ψ}, so that no Jensen gap appears where ψ changes by O(1)
between the two cells next to a ζ̂ patch edge; there the wall value is the two-patch mean). v is averaged from the faces
below and above a centre. Wall rows: ψ = wall value (ζ̂, or on a charge face the solved wall
potential of `charge_wall_value`), u = v = 0, c± from the wall condition —
Boltzmann values, or, for no-flux walls, a constant Slotboom variable c± e^{ẑ±ψ} across the
half cell (zero normal flux at a wall with v = 0 says exactly that) — and P extrapolated
quadratically from the first three centres. Finally φ = ψ + Ê (ℓ − x) and p = P + Π.
"""

from __future__ import annotations

import numpy as np

from eofpinn.cases.model import Problem
from eofpinn.physics.exact import osmotic_pressure
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.fluxes import charge_wall_value
from eofpinn.solvers.fd.grid import StaggeredGrid
from eofpinn.solvers.fd.layout import Layout


def _full_x(interior: np.ndarray, grid: StaggeredGrid, inlet=None, outlet=None, jump: float = 0.0) -> np.ndarray:
    """Unknown columns → all nx node columns.

    Periodic: the cells are centred between the nodes, so node i gets the linear interpolant of
    cells i−1 and i (cell −1 is cell n−1 of the previous period, raised by the jump), and x = ℓ
    repeats x = 0 lowered by the jump.
    """
    if grid.periodic:
        previous = np.concatenate([interior[-1:] + jump, interior[:-1]])
        w = grid.node_weights[:, None]
        nodes = (1.0 - w) * previous + w * interior
        return np.concatenate([nodes, nodes[:1] - jump])
    return np.concatenate([np.atleast_2d(inlet), interior, np.atleast_2d(outlet)])


def _quadratic_extrapolation(values: np.ndarray, y: np.ndarray, at: float) -> np.ndarray:
    """Value at `at` of the quadratic through three columns values[:, k] at y[k]."""
    out = np.zeros(values.shape[0])
    for k in range(3):
        others = [y[i] for i in range(3) if i != k]
        weight = np.prod([(at - o) / (y[k] - o) for o in others])
        out = out + weight * values[:, k]
    return out


def _with_walls(interior: np.ndarray, bottom, top) -> np.ndarray:
    return np.concatenate([np.atleast_1d(bottom)[:, None] + 0 * interior[:, :1], interior,
                           np.atleast_1d(top)[:, None] + 0 * interior[:, :1]], axis=1)


def node_fields(problem: Problem, layout: Layout, boundary: BoundaryData, unknowns: dict) -> dict[str, np.ndarray]:
    grid, periodic = layout.grid, layout.grid.periodic
    inlet, outlet = boundary.inlet, boundary.outlet

    def end(name):
        return (None, None) if periodic else (getattr(inlet, name), getattr(outlet, name))

    psi = _full_x(unknowns["psi"], grid, *end("psi"))
    cell_bottom, cell_top = cell_wall_potentials(boundary, grid, unknowns["psi"])
    wall_bottom = _full_x(cell_bottom[:, None], grid, *_end_walls(inlet, outlet, 0))[:, 0]
    wall_top = _full_x(cell_top[:, None], grid, *_end_walls(inlet, outlet, 1))[:, 0]
    fields = {"psi": _with_walls(psi, wall_bottom, wall_top)}
    for name, valence in (("c_plus", problem.valence_plus), ("c_minus", problem.valence_minus)):
        if periodic:  # average the Slotboom variable c± e^{ẑ±ψ}, smooth where c± vary exponentially
            slotboom = _full_x(unknowns[name] * np.exp(valence * unknowns["psi"]), grid)
            c = slotboom * np.exp(-valence * psi)
        else:
            c = _full_x(unknowns[name], grid, *end(name))
        # Slotboom extrapolation; equal to exp(−ẑ± ζ̂) for Boltzmann-distributed ions.
        bottom = c[:, 0] * np.exp(valence * (psi[:, 0] - wall_bottom))
        top = c[:, -1] * np.exp(valence * (psi[:, -1] - wall_top))
        if boundary.c_wall is not None:
            bottom, top = np.exp(-valence * wall_bottom), np.exp(-valence * wall_top)
        fields[name] = _with_walls(c, bottom, top)
    fields["u"] = _with_walls(_u_nodes(unknowns["u"], grid), 0.0, 0.0)
    v_full = np.pad(unknowns["v"], ((0, 0), (1, 1)))
    v_centres = 0.5 * (v_full[:, 1:] + v_full[:, :-1])
    zero = np.zeros(grid.m)
    fields["v"] = _with_walls(_full_x(v_centres, grid, zero, zero), 0.0, 0.0)
    pressure = _full_x(unknowns["P"], grid, *end("pressure"), jump=boundary.pressure_jump)
    y = grid.y_centres
    p_bottom = _quadratic_extrapolation(pressure[:, :3], y[:3], 0.0)
    p_top = _quadratic_extrapolation(pressure[:, -3:], y[-3:], 1.0)
    excess = _with_walls(pressure, p_bottom, p_top)
    fields["p"] = excess + osmotic_pressure(problem, fields["c_plus"], fields["c_minus"])
    x = grid.x_nodes[:, None]
    fields["phi"] = fields["psi"] + problem.field_hat * (problem.length_ratio - x)
    return fields


def cell_wall_potentials(boundary: BoundaryData, grid: StaggeredGrid, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ψ on the wall face of every unknown column (bottom, top): ζ̂, or the solved potential of a
    charge face (`charge_wall_value`, as in the residual)."""
    bottom, top = boundary.psi_bottom, boundary.psi_top
    if not boundary.charged:
        return bottom, top
    d1, d2 = grid.wall_distances
    charged_b = charge_wall_value(psi[:, 0], psi[:, 1], boundary.charge_bottom, d1, d2)
    charged_t = charge_wall_value(psi[:, -1], psi[:, -2], boundary.charge_top, d1, d2)
    mask_b, mask_t = boundary.charge_mask_bottom, boundary.charge_mask_top
    return mask_b * charged_b + (1.0 - mask_b) * bottom, mask_t * charged_t + (1.0 - mask_t) * top


def _end_walls(inlet, outlet, k: int):
    if inlet is None:
        return None, None
    return np.array([[inlet.psi_walls[k]]]), np.array([[outlet.psi_walls[k]]])


def _u_nodes(u: np.ndarray, grid: StaggeredGrid) -> np.ndarray:
    if grid.periodic:  # the u faces x_u[i] = x_{i+1} lie on the nodes: node 0 ≡ node n is face n−1
        nodes = np.roll(u, 1, axis=0)
        return np.concatenate([nodes, nodes[:1]])
    w = grid.node_weights[1:, None]  # node k between the faces k−1 and k (midpoints of the nodes)
    inner = (1.0 - w) * u[:-1] + w * u[1:]
    return np.concatenate([u[:1], inner, u[-1:]])
