"""Equation locations of the MAC grid and source terms for manufactured solutions.

`equation_points` gives the (x, y) where each discrete equation block is centred: Poisson,
NP± and continuity at cell centres, Stokes-x on u faces, Stokes-y on v faces. A manufactured
solution's sources are the continuous residuals of physics/residuals.py evaluated there, so a
method-of-manufactured-solutions test also checks that the scheme discretises exactly the
equations the rest of eofpinn uses.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from eofpinn.cases.model import Problem
from eofpinn.physics.exact import Derivatives
from eofpinn.physics.residuals import residuals
from eofpinn.solvers.fd.layout import Layout

# fields(x, y) -> {"psi", "c_plus", "c_minus", "u", "v", "P"}: Derivatives at the points.
FieldDerivatives = Callable[[np.ndarray, np.ndarray], dict[str, Derivatives]]

_BLOCK_POINTS = {"poisson": "cells", "np_plus": "cells", "np_minus": "cells", "continuity": "cells",
                 "stokes_x": "u_faces", "stokes_y": "v_faces"}


def equation_points(layout: Layout) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(X, Y) meshes of the cell centres, u faces and v faces (unknown locations only)."""
    g = layout.grid
    cells = np.meshgrid(g.x_unknown, g.y_centres, indexing="ij")
    u_faces = np.meshgrid(g.x_u[: g.n_u], g.y_centres, indexing="ij")
    v_faces = np.meshgrid(g.x_unknown, g.y_faces[1:-1], indexing="ij")
    return {"cells": cells, "u_faces": u_faces, "v_faces": v_faces}


def manufactured_sources(problem: Problem, layout: Layout, fields: FieldDerivatives) -> dict[str, np.ndarray]:
    """Continuous residuals of the manufactured fields at every equation's location."""
    out = {}
    for where, (x, y) in equation_points(layout).items():
        d = fields(x, y)
        res = residuals(problem, d["psi"], d["c_plus"], d["c_minus"], d["u"], d["v"], d["P"])
        for block, place in _BLOCK_POINTS.items():
            if place == where:
                out[block] = np.asarray(res[block], dtype=float)
    return out
