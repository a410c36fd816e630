"""Grid sequencing: a converged coarse-grid solution as the Newton start on a finer grid.

The coarse unknowns are first brought to the node fields of a `Solution` (output.py: walls,
reservoir ends and the periodic copy at x = ℓ included), then interpolated to every fine
unknown location (cell centres, u faces, v faces): monotone cubic (PCHIP) across the channel,
where the double layer is steep, and linear along it. Concentrations go through their
Slotboom variables c± e^{±ψ}, smooth where c± vary exponentially; the excess pressure is
recovered as P = p − Π at the coarse nodes. (Adding the wall-potential mismatch next to a ζ̂
jump with a screening decay e^{−d/ε} was tried: at 256 × 256 it cost three more damped
Newton steps, so it is not done.) The error of such a start is that
of the coarse grid, well inside Newton's quadratic basin, so the fine grid needs two or three
steps and a single LU factorisation instead of the five to eight steps from the 1D profile.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator, RegularGridInterpolator

from eofpinn.cases.model import Problem
from eofpinn.physics.exact import osmotic_pressure
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.layout import Layout
from eofpinn.solvers.fd.output import node_fields
from eofpinn.solvers.fd.sources import equation_points

_WHERE = {"psi": "cells", "c_plus": "cells", "c_minus": "cells", "u": "u_faces", "v": "v_faces", "P": "cells"}


def prolong(problem: Problem, coarse_layout: Layout, coarse_boundary: BoundaryData, coarse_unknowns: dict,
            fine_layout: Layout) -> np.ndarray:
    """Initial unknown vector on `fine_layout` from a converged coarse solution."""
    nodes = node_fields(problem, coarse_layout, coarse_boundary, coarse_unknowns)
    nodes["P"] = nodes["p"] - osmotic_pressure(problem, nodes["c_plus"], nodes["c_minus"])
    nodes["c_plus"] = nodes["c_plus"] * np.exp(nodes["psi"])
    nodes["c_minus"] = nodes["c_minus"] * np.exp(-nodes["psi"])
    x_coarse, y_coarse = coarse_layout.grid.x_nodes, coarse_layout.grid.y_nodes
    points = equation_points(fine_layout)
    fine = {}
    for name, place in _WHERE.items():
        x, y = points[place]
        y_fine = y[0]
        columns = PchipInterpolator(y_coarse, nodes[name], axis=1)(y_fine)
        along = RegularGridInterpolator((x_coarse, y_fine), columns, bounds_error=False, fill_value=None)
        fine[name] = along(np.stack([x.ravel(), y.ravel()], axis=1)).reshape(x.shape)
    fine["c_plus"] = fine["c_plus"] * np.exp(-fine["psi"])
    fine["c_minus"] = fine["c_minus"] * np.exp(fine["psi"])
    return fine_layout.pack(fine)


def coarser(nx: int, ny: int) -> tuple[int, int]:
    """Half the cells in each direction (nodes: nx − 1 → (nx − 1)/2 intervals, ny − 2 → half)."""
    return (nx - 1) // 2 + 1, (ny - 2) // 2 + 2
