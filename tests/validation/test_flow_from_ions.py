"""validation/flow_from_ions.py: the FD flow block solved with ψ, c± held fixed."""

from __future__ import annotations

import numpy as np
import pytest

from eofpinn.cases import Problem, ZetaSegment
from eofpinn.cases.model import FDSettings
from eofpinn.solvers.fd.grid import StaggeredGrid
from eofpinn.solvers.fd.solver import solve_system
from validation.flow_from_ions import (
    electrochemical_gradients, fd_force_brackets, flow_given, flow_indices, jet_force_brackets, jets_flow,
    slotboom_errors, slotboom_swap,
)


def _patterned_problem():
    wall = (ZetaSegment(0.0, 0.5, 1.0), ZetaSegment(0.5, 1.0, -0.5))
    return Problem(debye_ratio=0.2, length_ratio=1.0, field_hat=1.0, zeta_bottom=wall, zeta_top=(ZetaSegment(0.0, 1.0, -0.3),),
                   zeta_transition=0.05)


def _patterned_system():
    problem = _patterned_problem()
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


def test_slotboom_swaps_exchange_psi_and_the_slotboom_factors():
    """"g±" keeps FD's ψ and the PINN's g± = c± e^{ẑ±ψ}; "psi, g± FD" the converse: with a PINN
    whose ψ is shifted by a constant and whose c± follow it (same g±), "g±" gives FD's fields back
    and "psi, g± FD" gives the PINN's."""
    rng = np.random.default_rng(0)
    psi = rng.normal(size=(4, 5))
    fd = {"psi": psi, "c_plus": np.exp(-psi) * 1.1, "c_minus": np.exp(psi) * 0.9}
    valences = (1.0, -1.0)
    shift = 0.3
    pinn = {"psi": psi + shift, "c_plus": fd["c_plus"] * np.exp(-shift), "c_minus": fd["c_minus"] * np.exp(shift)}
    for label, expected in (("g±", fd), ("psi, g± FD", pinn)):
        swapped = slotboom_swap(label, fd, pinn, valences)
        for name in ("psi", "c_plus", "c_minus"):
            np.testing.assert_allclose(swapped[name], expected[name], rtol=1e-14, err_msg=f"{label}: {name}")
    # "g± FD at y=½": FD's ψ, and FD's g± of the chosen row repeated across y.
    uniform = slotboom_swap("g± FD at y=½", fd, pinn, valences, mid_row=2)
    np.testing.assert_allclose(uniform["psi"], fd["psi"], rtol=0)
    g_row = fd["c_plus"][:, 2] * np.exp(fd["psi"][:, 2])
    np.testing.assert_allclose(uniform["c_plus"], g_row[:, None] * np.exp(-fd["psi"]), rtol=1e-14)
    # A 2:1 salt: ẑ₋ = −2 enters the exponent of c₋.
    pinn = {"psi": psi + shift, "c_plus": fd["c_plus"] * np.exp(-shift), "c_minus": fd["c_minus"] * np.exp(2.0 * shift)}
    swapped = slotboom_swap("g±", fd, pinn, (1.0, -2.0))
    np.testing.assert_allclose(swapped["c_minus"], fd["c_minus"], rtol=1e-14)


def test_slotboom_errors_measure_g_and_its_x_derivative():
    """A PINN g₊ = FD's g₊ + a·x (ψ unchanged): g's relative difference is ‖a x‖/‖g‖, and that of
    ∂g/∂x is a/‖∂g/∂x‖ in the area-weighted norm; c₋ identical gives zeros."""
    x, y = np.linspace(0.0, 2.0, 41), np.linspace(0.0, 1.0, 11)
    X, Y = np.meshgrid(x, y, indexing="ij")
    psi = np.sin(X) * np.cos(Y)
    g = 1.0 + 0.1 * X ** 2
    fd = {"psi": psi, "c_plus": g * np.exp(-psi), "c_minus": np.exp(psi)}
    pinn = dict(fd, c_plus=(g + 1e-3 * X) * np.exp(-psi))
    errors = slotboom_errors(fd, pinn, x, y, (1.0, -1.0))
    area = np.gradient(x)[:, None] * np.gradient(y)[None, :]
    norm = lambda a: np.sqrt(np.sum(area * a ** 2))  # noqa: E731
    assert errors["c_plus"]["g"] == pytest.approx(norm(1e-3 * X) / norm(g), rel=1e-12)
    # Central differences are exact on a linear difference; ∂g/∂x = 0.2x (one-sided at the ends).
    assert errors["c_plus"]["g_x"] == pytest.approx(1e-3 * norm(np.ones_like(X)) / norm(np.gradient(g, x, axis=0)),
                                                    rel=1e-12)
    assert errors["c_minus"] == {"g": 0.0, "g_x": 0.0}
    # The part within 0.25 of a wall: the rows y = 0, 0.1, 0.2 and 0.8, 0.9, 1.0 of 11 (the error is uniform).
    layered = slotboom_errors(fd, pinn, x, y, (1.0, -1.0), layer=0.25)["c_plus"]
    near = (np.minimum(Y, 1.0 - Y) < 0.25)
    assert layered["g_x_layers"] == pytest.approx(1e-3 * norm(near * 1.0) / norm(np.gradient(g, x, axis=0)), rel=1e-12)
    assert 0.3 < (layered["g_x_layers"] / layered["g_x"]) ** 2 < 0.7


def _smooth_ions(problem):
    """Smooth periodic ψ, c± (not Boltzmann: they exert a force) as `values_at(xs, ys)`."""
    def values_at(xs, ys):
        X, Y = np.meshgrid(xs, ys, indexing="ij")
        psi = 0.3 * np.sin(2 * np.pi * X) * np.cos(np.pi * Y)
        return {"psi": psi, "c_plus": np.exp(-psi) * (1 + 0.2 * np.sin(2 * np.pi * X) * np.cos(np.pi * Y)),
                "c_minus": np.exp(psi) * (1 + 0.1 * np.cos(2 * np.pi * X) * np.sin(np.pi * Y))}
    return values_at


def test_the_fd_force_brackets_converge_to_the_jets_at_second_order():
    """The Stokes rows' body-force brackets formed from cell values (Scharfetter–Gummel across
    each face) approach those of the fields' own derivatives at the faces as h²."""
    wall = (ZetaSegment(0.0, 1.0, -0.3),)
    problem = Problem(debye_ratio=0.2, length_ratio=1.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall)
    values_at = _smooth_ions(problem)
    errors = []
    for nx, ny in ((17, 18), (33, 34)):
        system = solve_system(problem, StaggeredGrid.build(problem, nx, ny, 1.0), FDSettings(nx=nx, ny=ny))
        grid = system.dp.layout.grid
        cells = dict(system.dp.layout.unpack(system.z.copy()), **values_at(grid.x_unknown, grid.y_centres))
        fd = fd_force_brackets(system.dp, cells)
        jet = jet_force_brackets(problem, grid, values_at, 1e-6)
        errors.append([np.abs(a - b).max() / np.abs(b).max() for a, b in zip(fd, jet)])
    for axis in (0, 1):
        assert errors[1][axis] < 1e-2
        assert 3.0 < errors[0][axis] / errors[1][axis] < 5.0, (axis, errors)


def test_the_jets_swap_drives_the_flow_with_the_jets_force():
    """Cells holding Boltzmann ions (no y force, another x force) with the jets of smooth ions give
    the flow that the smooth ions in the cells give, to the scheme's order: the source replaces
    the cells' force by the jets'; without it the flow is another one."""
    system = _patterned_system()
    problem, grid = _patterned_problem(), system.dp.layout.grid
    values_at = _smooth_ions(problem)
    layout = system.dp.layout
    smooth = values_at(grid.x_unknown, grid.y_centres)
    boltzmann = {"psi": smooth["psi"], "c_plus": np.exp(-smooth["psi"]), "c_minus": np.exp(smooth["psi"])}
    z = system.z.copy()
    for name, value in smooth.items():
        layout.unpack(z)[name][...] = value
    wanted = layout.unpack(flow_given(system, z))["v"]
    solved, forces = jets_flow(system, problem, grid, boltzmann, values_at, 1e-6)
    got = layout.unpack(solved)["v"]
    z = system.z.copy()
    for name, value in boltzmann.items():
        layout.unpack(z)[name][...] = value
    without = layout.unpack(flow_given(system, z))["v"]
    size = np.abs(wanted).max()
    assert np.abs(got - wanted).max() < 0.1 * size
    assert np.abs(without - wanted).max() > 0.5 * size
    assert forces["force_y"] > 0.5  # the cells' Boltzmann ions exert (almost) no y force, the jets do


def test_one_ion_swaps_take_that_ions_factor_alone():
    """"g₊" is FD's ψ and g₋ with the PINN's g₊; "g₋" the converse (a 3:1 salt: ẑ₊ = 3)."""
    rng = np.random.default_rng(1)
    psi = rng.normal(size=(4, 5))
    valences = (3.0, -1.0)
    fd = {"psi": psi, "c_plus": np.exp(-3.0 * psi), "c_minus": np.exp(psi)}
    pinn = {"psi": psi + 0.2, "c_plus": 1.5 * np.exp(-3.0 * psi), "c_minus": 0.5 * np.exp(psi)}
    plus, minus = slotboom_swap("g₊", fd, pinn, valences), slotboom_swap("g₋", fd, pinn, valences)
    g_plus_pinn = pinn["c_plus"] * np.exp(3.0 * pinn["psi"])
    np.testing.assert_allclose(plus["c_plus"], g_plus_pinn * np.exp(-3.0 * psi), rtol=1e-14)
    np.testing.assert_allclose(plus["c_minus"], fd["c_minus"], rtol=1e-14)
    np.testing.assert_allclose(minus["c_plus"], fd["c_plus"], rtol=1e-14)
    np.testing.assert_allclose(minus["c_minus"], pinn["c_minus"] * np.exp(-pinn["psi"]) * np.exp(psi), rtol=1e-14)
    for swapped in (plus, minus):
        np.testing.assert_allclose(swapped["psi"], psi, rtol=0)


def test_electrochemical_gradients_are_the_slope_of_ln_g_less_the_applied_field():
    """ln g₊ = a x + b y² (exactly differentiated by central differences: linear in x) gives
    ∂μ₊/∂x = a − ẑ₊Ê at every row; an ion in equilibrium with the applied field (ln g = ẑÊx) has 0."""
    x, y = np.linspace(0.0, 2.0, 21), np.linspace(0.0, 1.0, 7)
    X, Y = np.meshgrid(x, y, indexing="ij")
    psi = np.cos(X) * Y
    field, valences = 0.04, (3.0, -1.0)
    fields = {"psi": psi, "c_plus": np.exp(0.1 * X + Y ** 2 - 3.0 * psi),
              "c_minus": np.exp(-1.0 * field * X + psi)}
    found = electrochemical_gradients(fields, x, valences, field, {"wall": 0, "centre": 3}, [2, 10, 18])
    assert set(found) == {"c_plus@wall", "c_plus@centre", "c_minus@wall", "c_minus@centre"}
    for row in ("wall", "centre"):
        np.testing.assert_allclose(found[f"c_plus@{row}"], 0.1 - 3.0 * field, rtol=1e-12)
        np.testing.assert_allclose(found[f"c_minus@{row}"], 0.0, atol=1e-14)
