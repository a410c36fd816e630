"""The stencil-AD Jacobian equals torch's coloured forward-mode Jacobian and finite differences."""

import dataclasses

import numpy as np
import pytest

from eofpinn.cases import Problem, ZetaSegment
from eofpinn.solvers.fd.boundary import BoundaryData
from eofpinn.verification.jacobians import coloured_jacobian, ring_colours
from eofpinn.solvers.fd.grid import StaggeredGrid
from eofpinn.solvers.fd.initial import initial_guess
from eofpinn.solvers.fd.jacobian import JacobianAssembler
from eofpinn.verification.jacobians import central_difference_jacobian
from eofpinn.solvers.fd.residual import DiscreteProblem
from eofpinn.solvers.fd.solver import make_layout

SEGMENTS = (ZetaSegment(0.0, 1.0, -1.0), ZetaSegment(1.0, 2.0, 2.0))
BASE = Problem(0.2, 2.0, 0.7, SEGMENTS, SEGMENTS, pressure_drop_hat=0.3, peclet=2.0, reynolds=3.0,
               delta_plus=1.2, delta_minus=0.8, inertia=True)
VARIANTS = {
    "periodic_noflux": BASE,
    "periodic_boltzmann": dataclasses.replace(BASE, ion_wall="boltzmann"),
    "reservoir_noflux": dataclasses.replace(BASE, ends="reservoir"),
    "reservoir_paper_boltzmann": dataclasses.replace(BASE, ends="reservoir", equations="paper", ion_wall="boltzmann"),
}


def test_ring_colouring_separates_neighbours():
    for n in range(4, 14):
        colours = ring_colours(n)
        for i in range(n):
            for d in (1, 2):
                assert colours[i] != colours[(i + d) % n]


def _state(problem, nx):
    grid = StaggeredGrid.build(problem, nx, 9, 2.0)
    layout = make_layout(problem, grid)
    boundary = BoundaryData.from_problem(problem, grid)
    rng = np.random.default_rng(nx)
    z = initial_guess(problem, layout, boundary)
    z = z + 0.1 * rng.standard_normal(z.size) * np.clip(np.abs(z), 0.1, None)
    return layout, boundary, z


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_jacobian_matches_central_differences(name):
    """Every column against central differences (a dense check, affordable on 7 x 9 nodes)."""
    problem = VARIANTS[name]
    layout, boundary, z = _state(problem, 7)
    dp = DiscreteProblem.build(problem, layout, boundary)
    _, jac = JacobianAssembler(layout.size)(dp, z)
    dense = jac.toarray()
    differences = central_difference_jacobian(dp, z)
    for col in range(layout.size):
        column = differences[:, col]
        assert np.max(np.abs(column - dense[:, col])) < 1e-6 * max(1.0, np.max(np.abs(column))), col


@pytest.mark.slow  # ~30 s: one torch forward-mode pass per colour (90 colours)
def test_jacobian_matches_torch_forward_mode():
    """Independent AD: coloured torch forward mode (periodic ring of 7 needs the extra colours)."""
    layout, boundary, z = _state(BASE, 8)
    f, jac = JacobianAssembler(layout.size)(DiscreteProblem.build(BASE, layout, boundary), z)
    f_torch, jac_torch = coloured_jacobian(DiscreteProblem.build(BASE, layout, boundary, backend="torch"), z)
    assert np.max(np.abs(f - f_torch)) < 1e-10 * max(1.0, np.max(np.abs(f)))
    assert abs(jac - jac_torch).max() < 1e-11 * abs(jac).max()
