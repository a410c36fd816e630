"""Initial Newton guess: the local fully developed (physics.md §4) solution column by column.

Each x column gets the 1D Poisson–Boltzmann profile for its own wall potentials, Boltzmann
ions c± = exp(∓ψ), the electroosmotic profile u = Ê (ψ − ψ_wall(y)) with ψ_wall the linear
interpolant of the two wall values (exact for a straight channel), plus the Poiseuille
profile of the imposed pressure drop, v = 0 and a linear excess pressure. For a straight
channel this is the exact solution; for patterned walls it is right except within a few ε of
the patch edges, which is what makes Newton converge in a handful of steps.
"""

from __future__ import annotations

import numpy as np

from eofpinn.cases.model import Problem
from eofpinn.physics.exact import poisson_boltzmann
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.solvers.fd.layout import Layout


def _profile_columns(debye_ratio: float, y: np.ndarray, bottom: np.ndarray, top: np.ndarray) -> np.ndarray:
    columns = {}
    for pair in set(zip(bottom.tolist(), top.tolist())):
        columns[pair] = poisson_boltzmann(y, debye_ratio, pair[0], pair[1])[0]
    return np.stack([columns[pair] for pair in zip(bottom.tolist(), top.tolist())])


def initial_guess(problem: Problem, layout: Layout, boundary: BoundaryData) -> np.ndarray:
    grid = layout.grid
    y = grid.y_centres
    psi = _profile_columns(problem.debye_ratio, y, boundary.psi_bottom, boundary.psi_top)
    wall_line = boundary.psi_bottom[:, None] * (1.0 - y) + boundary.psi_top[:, None] * y
    poiseuille = 0.5 * problem.pressure_drop_hat / problem.length_ratio * y * (1.0 - y)
    u_nodes = problem.field_hat * (psi - wall_line) + poiseuille
    if grid.periodic:
        u_faces = 0.5 * (u_nodes + np.roll(u_nodes, -1, axis=0))
    else:
        padded = np.concatenate([u_nodes[:1], u_nodes, u_nodes[-1:]])
        u_faces = 0.5 * (padded[1:] + padded[:-1])
    drop = boundary.pressure_jump if grid.periodic else boundary.inlet.pressure[0] - boundary.outlet.pressure[0]
    pressure = drop * (1.0 - grid.x_unknown / problem.length_ratio)
    fields = {
        "psi": psi,
        "c_plus": np.exp(-psi),
        "c_minus": np.exp(psi),
        "u": u_faces,
        "v": np.zeros(layout.shapes["v"]),
        "P": np.repeat(pressure[:, None], grid.m, axis=1) + boundary.outlet_pressure_mean,
    }
    if not grid.periodic:
        fields["P"] = fields["P"] + boundary.outlet.pressure[None, :]
    return layout.pack(fields)
