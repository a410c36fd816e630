"""Initial Newton guess: the local fully developed (physics.md §4) solution column by column.

Each x column gets the 1D Poisson–Boltzmann profile for its own wall conditions (a ζ̂ or a
charge σ̂ per wall face), Boltzmann ions c± = exp(−ẑ± ψ), the electroosmotic profile
u = Ê (ψ − ψ_wall(y)) with ψ_wall the linear interpolant of the two wall potentials (exact for
a straight channel; solved ones on charge faces), plus the Poiseuille
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


def _wall_keys(boundary: BoundaryData, wall: str) -> list[tuple[float, float | None]]:
    """(ζ̂, σ̂ or None) of every column's face on `wall`."""
    zeta = getattr(boundary, f"psi_{wall}").tolist()
    if not boundary.charged:
        return [(z, None) for z in zeta]
    mask, charge = getattr(boundary, f"charge_mask_{wall}"), getattr(boundary, f"charge_{wall}")
    return [(z, float(c) if m else None) for z, c, m in zip(zeta, charge.tolist(), mask.tolist())]


def _profile_columns(problem: Problem, y: np.ndarray, boundary: BoundaryData) -> tuple[np.ndarray, np.ndarray]:
    """ψ of every column at y, and its wall potentials (bottom, top) per column."""
    keys = list(zip(_wall_keys(boundary, "bottom"), _wall_keys(boundary, "top")))
    points = np.concatenate([y, [0.0, 1.0]])
    columns = {}
    for bottom, top in set(keys):
        columns[bottom, top] = poisson_boltzmann(points, problem.debye_ratio, bottom[0], top[0], bottom[1], top[1],
                                                 problem.valences)[0]
    profiles = np.stack([columns[key] for key in keys])
    walls = np.array([[b[0] if b[1] is None else p[-2], t[0] if t[1] is None else p[-1]]
                      for (b, t), p in zip(keys, profiles)])
    return profiles[:, :-2], walls


def initial_guess(problem: Problem, layout: Layout, boundary: BoundaryData) -> np.ndarray:
    grid = layout.grid
    y = grid.y_centres
    psi, walls = _profile_columns(problem, y, boundary)
    wall_line = walls[:, :1] * (1.0 - y) + walls[:, 1:] * y
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
        "c_plus": np.exp(-problem.valence_plus * psi),
        "c_minus": np.exp(-problem.valence_minus * psi),
        "u": u_faces,
        "v": np.zeros(layout.shapes["v"]),
        "P": np.repeat(pressure[:, None], grid.m, axis=1) + boundary.outlet_pressure_mean,
    }
    if not grid.periodic:
        fields["P"] = fields["P"] + boundary.outlet.pressure[None, :]
    return layout.pack(fields)
