"""Grid sequencing: a converged coarse-grid solution as the Newton start on a finer grid.

The coarse unknowns are first brought to the node fields of a `Solution` (output.py: walls,
reservoir ends and the periodic copy at x = ℓ included), then interpolated to every fine
unknown location (cell centres, u faces, v faces): monotone cubic (PCHIP) across the channel,
where the double layer is steep, and linear along it. Concentrations go through their
Slotboom variables c± e^{ẑ±ψ}, smooth where c± vary exponentially; the excess pressure is
recovered as P = p − Π at the coarse nodes.

Where ζ̂ jumps along a wall, ψ, c± and P are interpolated along x within each patch only
(extrapolated linearly up to the patch edge): a node on the edge carries the mean of the two
wall potentials, and interpolating through it put ψ off by ~0.4 Δζ̂ in the first cells next to
the corner, which cost two extra Newton steps and two extra LU factorisations on the fine grid
(patterned case, 128 → 256). The error of such a start is then that of the coarse grid, except
in the few cells where the corner singularity is resolved more finely; Newton needs four or
five steps and, with the inexact steps of newton.py, one LU factorisation.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator

from eofpinn.cases.model import Problem
from eofpinn.physics.exact import osmotic_pressure
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.grid import zeta_edges
from eofpinn.solvers.fd.layout import Layout
from eofpinn.solvers.fd.output import node_fields
from eofpinn.solvers.fd.sources import equation_points

_WHERE = {"psi": "cells", "c_plus": "cells", "c_minus": "cells", "u": "u_faces", "v": "v_faces", "P": "cells"}
# Fields that jump with ζ̂ along the wall: interpolated within each patch only.
_CUT_AT_EDGES = ("psi", "c_plus", "c_minus", "P")


def _along_x(x_coarse: np.ndarray, columns: np.ndarray, x_fine: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Rows of `columns` (at x_coarse) interpolated linearly to x_fine, never across an edge.

    Each fine point takes the two nearest coarse nodes of its own patch (strictly inside it;
    a node on an edge carries the mean of the two ζ̂ and belongs to neither), extrapolating
    linearly near the patch ends, or the single node of a one-node patch.
    """
    bounds = np.concatenate([[-np.inf], edges, [np.inf]])
    out = np.empty((x_fine.size, columns.shape[1]))
    patch_of_coarse = np.searchsorted(bounds, x_coarse, side="right") - 1
    on_edge = np.isin(x_coarse, edges)
    patch_of_fine = np.searchsorted(bounds, x_fine, side="right") - 1
    for patch in np.unique(patch_of_fine):
        fine = np.flatnonzero(patch_of_fine == patch)
        inside = np.flatnonzero((patch_of_coarse == patch) & ~on_edge)
        if inside.size == 0:
            inside = np.flatnonzero(patch_of_coarse == patch) if np.any(patch_of_coarse == patch) else \
                np.array([np.argmin(np.abs(x_coarse - x_fine[fine].mean()))])
        if inside.size == 1:
            out[fine] = columns[inside[0]]
            continue
        k = np.clip(np.searchsorted(x_coarse[inside], x_fine[fine]) - 1, 0, inside.size - 2)
        left, right = inside[k], inside[k + 1]
        w = ((x_fine[fine] - x_coarse[left]) / (x_coarse[right] - x_coarse[left]))[:, None]
        out[fine] = (1.0 - w) * columns[left] + w * columns[right]
    return out


def prolong(problem: Problem, coarse_layout: Layout, coarse_boundary: BoundaryData, coarse_unknowns: dict,
            fine_layout: Layout) -> np.ndarray:
    """Initial unknown vector on `fine_layout` from a converged coarse solution."""
    nodes = node_fields(problem, coarse_layout, coarse_boundary, coarse_unknowns)
    nodes["P"] = nodes["p"] - osmotic_pressure(problem, nodes["c_plus"], nodes["c_minus"])
    z_plus, z_minus = problem.valences
    nodes["c_plus"] = nodes["c_plus"] * np.exp(z_plus * nodes["psi"])
    nodes["c_minus"] = nodes["c_minus"] * np.exp(z_minus * nodes["psi"])
    x_coarse, y_coarse = coarse_layout.grid.x_nodes, coarse_layout.grid.y_nodes
    edges = zeta_edges(problem)
    points = equation_points(fine_layout)
    fine = {}
    for name, place in _WHERE.items():
        x, y = points[place]
        columns = PchipInterpolator(y_coarse, nodes[name], axis=1)(y[0])
        cut = edges if name in _CUT_AT_EDGES else np.empty(0)
        fine[name] = _along_x(x_coarse, columns, x[:, 0], cut)
    fine["c_plus"] = fine["c_plus"] * np.exp(-z_plus * fine["psi"])
    fine["c_minus"] = fine["c_minus"] * np.exp(-z_minus * fine["psi"])
    if "field_hat" in coarse_unknowns:  # an open circuit's field, solved on the coarse grid
        fine["field_hat"] = float(coarse_unknowns["field_hat"])
    return fine_layout.pack(fine)


def coarser(nx: int, ny: int) -> tuple[int, int]:
    """Half the cells in each direction (nodes: nx − 1 → (nx − 1)/2 intervals, ny − 2 → half)."""
    return (nx - 1) // 2 + 1, (ny - 2) // 2 + 2
