"""validation/flow_from_ions.py: the FD flow block solved with ψ, c± held fixed."""

from __future__ import annotations

import numpy as np

from eofpinn.cases import Problem, ZetaSegment
from eofpinn.cases.model import FDSettings
from eofpinn.solvers.fd.grid import StaggeredGrid
from eofpinn.solvers.fd.solver import solve_system
from validation.flow_from_ions import flow_given, flow_indices


def _patterned_system():
    wall = (ZetaSegment(0.0, 0.5, 1.0), ZetaSegment(0.5, 1.0, -0.5))
    problem = Problem(debye_ratio=0.2, length_ratio=1.0, field_hat=1.0, zeta_bottom=wall, zeta_top=(ZetaSegment(0.0, 1.0, -0.3),),
                      zeta_transition=0.05)
    grid = StaggeredGrid.build(problem, 17, 18, 3.0)
    return solve_system(problem, grid, FDSettings(nx=17, ny=18))


def test_flow_given_the_fd_ions_is_the_fd_flow_and_linear_in_the_ions():
    system = _patterned_system()
    layout, index = system.dp.layout, flow_indices(system.dp.layout)
    assert index.size == sum(np.prod(layout.shapes[n]) for n in ("u", "v", "P")) + 1  # + the pressure gauge
    start = system.z.copy()
    start[index] = 0.0
    solved = flow_given(system, start)
    scale = np.abs(system.z[index]).max()
    np.testing.assert_allclose(solved, system.z, rtol=0, atol=1e-9 * scale)
    # Stokes is linear in the body force: a perturbation of c₊ twice as large moves v twice as far.
    moved = []
    for size in (1e-3, 2e-3):
        z = system.z.copy()
        layout.unpack(z)["c_plus"][...] *= 1.0 + size * np.sin(2 * np.pi * layout.grid.x_unknown)[:, None]
        moved.append(layout.unpack(flow_given(system, z))["v"] - layout.unpack(system.z)["v"])
    assert np.abs(moved[0]).max() > 1e-6 * np.abs(layout.unpack(system.z)["v"]).max()
    np.testing.assert_allclose(moved[1], 2.0 * moved[0], rtol=0, atol=1e-9 * np.abs(moved[1]).max())
