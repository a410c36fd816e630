"""Manufactured solutions that verify the FD scheme (used by tests/fd and validation studies).

Each solution is a set of smooth analytic fields written in torch, so that autograd supplies
the first and second derivatives that physics/residuals.py needs to produce the source terms.
They satisfy the boundary conditions of their set-up exactly:

- periodic ends, no-flux walls: c± = exp(∓ψ) g±(x, y) with ∂g±/∂y = 0 on the walls (zero
  normal flux since v = 0 there) and mean(g±) = 1 (the ion gauge); u, v from a stream
  function vanishing to second order on the walls plus a Poiseuille part; P with a drop Δp̂;
- reservoir ends, Boltzmann walls: the same with x-dependence through cos(πx/ℓ), so that
  ∂u/∂x = 0 and v = 0 at both ends;
- periodic ends, no-flux walls, a z₊:z₋ salt and a charge wall (physics.md §7): c± =
  exp(−ẑ± ψ) g±, ψ with a wall slope that varies along x, and the bottom wall imposing its
  charge σ̂ = −∂ψ/∂y (Neumann) while the top one imposes ψ (Dirichlet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from eofpinn.cases import FDSettings, Problem, ZetaSegment
from eofpinn.physics.exact import Derivatives
from eofpinn.solvers.fd.boundary import BoundaryData, EndData
from eofpinn.solvers.fd.grid import StaggeredGrid
from eofpinn.solvers.fd.layout import Layout
from eofpinn.solvers.fd.sources import equation_points, manufactured_sources
from eofpinn.solvers.fd.solver import SystemSolution, make_layout, solve_system

FIELDS = ("psi", "c_plus", "c_minus", "u", "v", "P")
_UNKNOWN_POINTS = {"psi": "cells", "c_plus": "cells", "c_minus": "cells", "u": "u_faces", "v": "v_faces",
                   "P": "cells"}


@dataclass(frozen=True)
class Manufactured:
    problem: Problem
    periodic: bool
    pressure_drop: float = 0.4
    # Where an edge-clustered x grid (edge_stretch > 0) is refined: the manufactured walls have
    # no ζ̂ jumps of their own, so these stand in for them.
    cluster_at: tuple[float, ...] = ()
    # Walls that impose the manufactured charge −∂ψ/∂n instead of ψ ("bottom", "top").
    charge_walls: tuple[str, ...] = ()

    def _wave(self, x):
        ell = self.problem.length_ratio
        return torch.sin(2 * math.pi * x / ell) if self.periodic else torch.cos(math.pi * x / ell)

    def _wave_x_antiderivative(self, x):
        """A function whose x-derivative is proportional to `_wave`, zero slope at reservoir ends."""
        ell = self.problem.length_ratio
        return torch.cos(2 * math.pi * x / ell) if self.periodic else torch.cos(math.pi * x / ell)

    def torch_fields(self, x, y) -> dict[str, torch.Tensor]:
        ell, w = self.problem.length_ratio, self._wave(x)
        psi = 0.6 + 0.3 * torch.cos(2 * math.pi * x / ell) + 0.5 * torch.cos(math.pi * y) * (1 + 0.2 * w)
        if self.charge_walls:  # a wall slope ∂ψ/∂y = −0.8 (1 + 0.3 w) + …, varying along the wall
            psi = psi - 0.8 * y * (1 - 0.5 * y) * (1 + 0.3 * w)
        # Charge walls: g± = 1 on the walls too, so that Boltzmann walls see c± = exp(−ẑ± ψ_wall) of
        # the solved wall potential; ∂g±/∂y = 0 there either way (zero normal flux).
        shape_y = torch.sin(math.pi * y) ** 2 if self.charge_walls else torch.cos(math.pi * y)
        g_plus = 1 + 0.3 * w * shape_y
        g_minus = 1 - 0.2 * w * shape_y
        z_plus, z_minus = self.problem.valences
        stream = 0.5 * y**2 * (1 - y) ** 2 * (1 + 0.5 * self._wave_x_antiderivative(x))
        stream_y = torch.autograd.grad(stream.sum(), y, create_graph=True)[0]
        stream_x = torch.autograd.grad(stream.sum(), x, create_graph=True)[0]
        u = 0.3 * 6 * y * (1 - y) + stream_y
        v = -stream_x
        drop = self.pressure_drop if self.periodic else 0.0
        pressure = drop * (1 - x / ell) + 0.5 * torch.cos(2 * math.pi * x / ell) * torch.cos(math.pi * y)
        if (z_plus, z_minus) == (1.0, -1.0):
            c_plus, c_minus = torch.exp(-psi) * g_plus, torch.exp(psi) * g_minus
        else:
            c_plus, c_minus = torch.exp(-z_plus * psi) * g_plus, torch.exp(-z_minus * psi) * g_minus
        return {"psi": psi, "c_plus": c_plus, "c_minus": c_minus, "u": u, "v": v, "P": pressure}

    def values(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        xt = torch.tensor(np.asarray(x, float), requires_grad=True)
        yt = torch.tensor(np.asarray(y, float), requires_grad=True)
        return {k: v.detach().numpy() for k, v in self.torch_fields(xt, yt).items()}

    def derivatives(self, x: np.ndarray, y: np.ndarray) -> dict[str, Derivatives]:
        xt = torch.tensor(np.asarray(x, float), requires_grad=True)
        yt = torch.tensor(np.asarray(y, float), requires_grad=True)
        out = {}
        for name, f in self.torch_fields(xt, yt).items():
            fx, fy = torch.autograd.grad(f.sum(), (xt, yt), create_graph=True)
            fxx = torch.autograd.grad(fx.sum(), xt, retain_graph=True)[0]
            fyy = torch.autograd.grad(fy.sum(), yt, retain_graph=True)[0]
            out[name] = Derivatives(*(t.detach().numpy() for t in (f, fx, fy, fxx, fyy)))
        return out

    def boundary(self, grid: StaggeredGrid) -> BoundaryData:
        x = grid.x_unknown
        zeros = np.zeros(grid.n)
        bottom, top = self.values(x, zeros), self.values(x, zeros + 1.0)
        c_wall = None
        if self.problem.ion_wall == "boltzmann":
            c_wall = {f"{name}_{wall}": values[name] for name in ("c_plus", "c_minus")
                      for wall, values in (("bottom", bottom), ("top", top))}
        keys = ("c_plus_bottom", "c_plus_top", "c_minus_bottom", "c_minus_top")
        inlet = outlet = None
        if not self.periodic:
            inlet, outlet = (self._end(grid, x_end) for x_end in (0.0, grid.length))
        charges = {}
        if self.charge_walls:  # −∂ψ/∂n = σ̂ with n into the fluid: σ̂ = −ψ_y at y = 0, +ψ_y at y = 1
            for wall, y_wall, sign in (("bottom", 0.0, -1.0), ("top", 1.0, 1.0)):
                charged = wall in self.charge_walls
                slope = self.derivatives(x, zeros + y_wall)["psi"].y
                charges[f"charge_mask_{wall}"] = np.full(grid.n, 1.0 if charged else 0.0)
                charges[f"charge_{wall}"] = sign * slope if charged else zeros
        return BoundaryData(bottom["psi"], top["psi"], c_wall, {k: zeros for k in keys}, inlet, outlet,
                            pressure_jump=self.pressure_drop if self.periodic else 0.0, **charges)

    def _end(self, grid: StaggeredGrid, x_end: float) -> EndData:
        y = grid.y_centres
        f = self.values(np.full(y.size, x_end), y)
        walls = self.values(np.array([x_end, x_end]), np.array([0.0, 1.0]))["psi"]
        return EndData(f["psi"], f["c_plus"], f["c_minus"], f["P"], (float(walls[0]), float(walls[1])))

    def exact_unknowns(self, layout: Layout) -> dict[str, np.ndarray]:
        """The manufactured fields at every unknown's own location (cell centres, u or v faces)."""
        points = equation_points(layout)
        return {name: self.values(*points[place])[name] for name, place in _UNKNOWN_POINTS.items()}

    def solve(self, nx: int, ny: int, wall_stretch: float = 1.5, edge_stretch: float = 0.0):
        """Discrete solution and the max error of every field at its own unknown locations."""
        system = self.solve_discrete(nx, ny, wall_stretch, edge_stretch)
        return system, self.error_norms(system)["max"]

    def solve_discrete(self, nx: int, ny: int, wall_stretch: float = 1.5, edge_stretch: float = 0.0) -> SystemSolution:
        """The discrete solution with the manufactured sources and boundary data on an nx × ny grid
        (x clustered at `cluster_at` with β = edge_stretch > 0)."""
        grid = StaggeredGrid.build(self.problem, nx, ny, wall_stretch, edge_stretch, edges=self.cluster_at)
        layout = make_layout(self.problem, grid)
        sources = manufactured_sources(self.problem, layout, self.derivatives)
        # Newton starts from the manufactured fields: the test is of the discretisation error.
        return solve_system(self.problem, grid, FDSettings(tolerance=1e-12), self.boundary(grid), sources,
                            initial=layout.pack(self.exact_unknowns(layout)))

    def error_norms(self, system: SystemSolution) -> dict[str, dict[str, float]]:
        """{"max": …, "l2": …} relative errors of every field at its own unknown locations.

        max: max|f_h − f| / max|f|; l2: the discrete L2 norm weighted by each unknown's control
        volume (cells Δx_i Δy_j, u faces the centre spacing in x times Δy_j, interior v faces
        Δx_i times the centre spacing in y),
        ‖f_h − f‖ / ‖f‖.
        """
        layout = system.dp.layout
        exact, discrete = self.exact_unknowns(layout), system.unknowns
        weights = _control_volumes(layout.grid)
        norms: dict[str, dict[str, float]] = {"max": {}, "l2": {}}
        for name in FIELDS:
            error, weight = discrete[name] - exact[name], weights[_UNKNOWN_POINTS[name]]
            norms["max"][name] = float(np.max(np.abs(error)) / np.max(np.abs(exact[name])))
            norms["l2"][name] = float(np.sqrt(np.sum(weight * error**2) / np.sum(weight * exact[name] ** 2)))
        return norms


def _control_volumes(grid: StaggeredGrid) -> dict[str, np.ndarray]:
    """Area of the control volume of each cell centre, u face and interior v face."""
    return {"cells": grid.dx[:, None] * grid.dy[None, :],
            "u_faces": grid.dx_centres[:, None] * grid.dy[None, :],
            "v_faces": grid.dx[:, None] * grid.dy_centres[None, :]}


def periodic_problem(**options) -> Problem:
    wall = (ZetaSegment(0.0, 1.0, 0.0),)
    base = dict(debye_ratio=0.3, length_ratio=1.0, field_hat=0.8, zeta_bottom=wall, zeta_top=wall,
                peclet=2.0, delta_plus=1.1, delta_minus=0.9, ends="periodic", ion_wall="no_flux")
    base.update(options)
    return Problem(**base)


def configurations() -> dict[str, Manufactured]:
    """The two verified set-ups: Δp̂ with inertia between periodic ends and no-flux walls
    (ion and pressure gauges active), and reservoir ends with Boltzmann walls."""
    return {
        "periodic_noflux_inertia": Manufactured(periodic_problem(inertia=True, reynolds=1.0), periodic=True,
                                                cluster_at=(0.0, 0.5, 1.0)),
        "reservoir_boltzmann": Manufactured(periodic_problem(ends="reservoir", ion_wall="boltzmann"),
                                            periodic=False, cluster_at=(0.5,)),
    }


def charge_configurations() -> dict[str, Manufactured]:
    """Charge walls (issue 13): a 2:1 salt between periodic ends with a charge bottom wall and a ζ
    top wall (no-flux ions: ion and pressure gauges active), and a 1:2 salt between reservoir
    ends with charge walls on both sides and Boltzmann ions (whose wall values then follow the
    solved wall potential)."""
    return {
        "periodic_charge_bottom_2to1": Manufactured(periodic_problem(valence_plus=2.0, valence_minus=-1.0),
                                                    periodic=True, charge_walls=("bottom",)),
        "reservoir_charge_both_1to2": Manufactured(periodic_problem(ends="reservoir", ion_wall="boltzmann",
                                                                    valence_plus=1.0, valence_minus=-2.0),
                                                   periodic=False, charge_walls=("bottom", "top")),
    }
