"""validation/pinn_error_map.py's ion fluxes through cross-sections and through the walls, on
networks that return the exact straight-channel solution: the flux through every section is the
same and their difference is the exact current (eofpinn.physics.exact, an independent
quadrature)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from eofpinn.cases import straight_problem
from eofpinn.physics.exact import exact_transport
from eofpinn.solvers.pinn.formulation import Formulation, PINNModel
from validation.pinn_error_map import (centre_residuals, flux_profile, graded_sections, interior_sources, ion_fluxes,
                                      leak_stretches, mirror_split, mirror_symmetric, residual_shares,
                                      station_flux_spreads, v_by_continuity, wall_leaks)


def _exact_trainer(settings, exact_networks_factory):
    """A stand-in trainer whose model returns the exact solution of ε = 0.1, ζ̂ = 1, Ê = 1."""
    problem = straight_problem(0.1, 1.0, 1.0)
    form = Formulation.build(problem, settings.formulation)
    model = PINNModel(exact_networks_factory(problem, form), form)
    return SimpleNamespace(task=SimpleNamespace(problem=problem), model=model, settings=settings, dtype=torch.float64)


def _capture_sections(monkeypatch) -> dict:
    """Route the error map's `sections_at` through a wrapper that keeps the last points it laid out
    (captured["points"]), so a replaced residual can be a function of them."""
    import validation.pinn_error_map as error_map

    captured = {}
    original = error_map.sections_at

    def sections(problem, settings, xs):
        points, weights = original(problem, settings, xs)
        captured["points"] = points
        return points, weights

    monkeypatch.setattr(error_map, "sections_at", sections)
    return captured


def test_ion_fluxes_of_the_exact_solution_are_conserved_and_carry_the_exact_current(small_settings,
                                                                                    exact_networks_factory):
    problem = straight_problem(0.1, 1.0, 1.0, pressure_drop_hat=2.0)
    form = Formulation.build(problem, small_settings.formulation)
    model = PINNModel(exact_networks_factory(problem, form), form)
    trainer = SimpleNamespace(task=SimpleNamespace(problem=problem), model=model, settings=small_settings,
                              dtype=torch.float64)
    fluxes = ion_fluxes(trainer, np.array([0.3, 1.1, 2.5]))
    plus, minus = np.array(fluxes["c_plus"]), np.array(fluxes["c_minus"])
    assert np.ptp(plus) < 1e-12 * abs(plus[0]) and np.ptp(minus) < 1e-12 * abs(minus[0])
    parts = sum(np.array(fluxes[f"c_plus {k}"]) for k in ("diffusion", "conduction", "convection"))
    assert parts == pytest.approx(plus, rel=1e-14)
    assert plus - minus == pytest.approx(exact_transport(problem)["current"], rel=1e-8)
    # The profile along x and the spread over stations: flat, to round-off.
    stations = np.linspace(0.0, 1.0, 9)
    profile = flux_profile(trainer, stations)
    assert set(profile) == {"c_plus", "c_minus"} and all(np.abs(p).max() < 1e-12 for p in profile.values())
    spreads = station_flux_spreads(trainer, stations)
    assert spreads["c_plus"]["mean"] == pytest.approx(plus[0], rel=1e-12) and spreads["c_minus"]["spread"] < 1e-12
    graded = station_flux_spreads(trainer, stations, graded=True)
    assert graded["c_plus"]["mean"] == pytest.approx(plus[0], rel=1e-10) and graded["c_minus"]["spread"] < 1e-12
    # No interior source either (∫∫ ∇·N over each stretch; 20 cells of two Gauss nodes in x per stretch).
    sources = interior_sources(trainer, np.array([0.0, 0.4, 1.0]), {"c_plus": plus[0], "c_minus": minus[0]}, per_unit=50)
    assert set(sources) == {"c_plus", "c_minus"} and all(len(v) == 2 and max(map(abs, v)) < 1e-9 for v in sources.values())


def test_interior_sources_integrate_minus_the_residual_over_each_stretch(small_settings, exact_networks_factory,
                                                                       monkeypatch):
    """With the Nernst–Planck residuals replaced by r₊ = −x y², r₋ = 3 (so ∇·N₊ = x y², ∇·N₋ = −3),
    the sources over [a, b] are (b² − a²)/6 and −3 (b − a), over |mean|: the x and y quadratures
    and the sign, checked apart from any network."""
    import validation.pinn_error_map as error_map

    trainer = _exact_trainer(small_settings, exact_networks_factory)
    captured = _capture_sections(monkeypatch)

    def fake_residuals(problem, jets, field, flux_force):
        x, y = captured["points"][:, 0], captured["points"][:, 1]
        return {"np_plus": -x * y**2, "np_minus": torch.full_like(x, 3.0)}

    monkeypatch.setattr(error_map, "pde_residuals", fake_residuals)
    sources = interior_sources(trainer, np.array([0.0, 0.4, 1.0]), {"c_plus": 2.0, "c_minus": -0.5}, per_unit=10,
                               chunk=10**9)
    assert sources["c_plus"] == pytest.approx([(0.16 - 0.0) / 6 / 2, (1.0 - 0.16) / 6 / 2], rel=1e-12)
    assert sources["c_minus"] == pytest.approx([-3 * 0.4 / 0.5, -3 * 0.6 / 0.5], rel=1e-12)
    # Split by the distance from the nearer wall at the sections' own band edge (h = 0.3 here), where
    # Gauss–Legendre is exact on each side: ∫ y² dy is 0.684/3 within 0.3 of a wall and 0.316/3 beyond.
    banded = interior_sources(trainer, np.array([0.0, 0.4, 1.0]), {"c_plus": 2.0, "c_minus": -0.5}, per_unit=10,
                              chunk=10**9, bands=(0.3,))
    for k, (a, b) in enumerate(((0.0, 0.4), (0.4, 1.0))):
        assert banded["c_plus"][k] == pytest.approx([(b * b - a * a) / 2 * 0.684 / 3 / 2,
                                                     (b * b - a * a) / 2 * 0.316 / 3 / 2], rel=1e-12)
        assert sum(banded["c_minus"][k]) == pytest.approx(sources["c_minus"][k], rel=1e-12)
        assert banded["c_minus"][k][0] == pytest.approx(-3 * (b - a) * 0.6 / 0.5, rel=1e-12)


def test_leak_stretches_are_channel_heights_except_about_a_change_of_wall_condition(monkeypatch):
    """The stretches of item 8, and each stretch's leak over |the ion's mean flux| (the wall
    integral itself, `wall_outflow`, replaced by one known in closed form: the exact networks
    divide by the wall distance and cannot be evaluated on a wall)."""
    import validation.pinn_error_map as error_map

    monkeypatch.setattr(error_map, "wall_outflow", lambda trainer, a, b, n: {"c_plus": b * b - a * a, "c_minus": a - b})
    leaks = wall_leaks(None, np.array([0.0, 1.0, 4.0]), {"c_plus": 2.0, "c_minus": -0.5})
    assert leaks == {"c_plus": [0.5, 7.5], "c_minus": [-2.0, -6.0]}
    assert leak_stretches(10.0, np.array([5.0])).tolist() == [0, 1, 2, 3, 4, 4.5, 4.9, 5.1, 5.5, 6, 7, 8, 9, 10]
    assert leak_stretches(2.0, np.array([0.0, 1.0, 2.0])).tolist() == [0, 0.1, 0.5, 0.9, 1.1, 1.5, 1.9, 2]
    assert leak_stretches(2.5, np.array([])).tolist() == [0, 1, 2, 2.5]


def test_centre_line_residuals_of_the_exact_solution_vanish(small_settings, exact_networks_factory):
    """The PDE residuals the error map prints along the centre line are the solver's own (with the
    model's field Ê): zero on the exact solution."""
    problem = straight_problem(0.1, 1.0, 1.0, pressure_drop_hat=2.0)
    form = Formulation.build(problem, small_settings.formulation)
    model = PINNModel(exact_networks_factory(problem, form), form)
    trainer = SimpleNamespace(task=SimpleNamespace(problem=problem), model=model, dtype=torch.float64)
    residuals = centre_residuals(trainer, np.array([0.2, 0.5, 0.8]))
    assert set(residuals) == {"stokes_x", "np_plus", "np_minus", "continuity"}
    assert max(abs(v) for values in residuals.values() for v in values) < 1e-9


def test_v_by_continuity_rebuilds_a_divergence_free_flow():
    """Stream function s = sin x · y²(1 − y)²: u = ∂s/∂y, v = −∂s/∂x (no slip, no penetration).
    The trapezoid rule on 401 points in y is second order: error ≈ h²/12 · max|∂²(u_x)/∂y²|."""
    x, y = np.linspace(0.0, 3.0, 7), np.linspace(0.0, 1.0, 401)
    X, Y = np.meshgrid(x, y, indexing="ij")
    u_x = np.cos(X) * (2 * Y * (1 - Y) ** 2 - 2 * Y**2 * (1 - Y))
    v = -np.cos(X) * Y**2 * (1 - Y) ** 2
    rebuilt = v_by_continuity(u_x, y)
    assert np.abs(rebuilt - v).max() < 2e-6 and np.abs(v).max() > 6e-2
    assert np.abs(rebuilt[:, -1]).max() < 2e-6  # no penetration at the top wall either


def test_the_mirror_split_of_an_error_adds_up_and_finds_each_part():
    """An error of known even and odd parts about y = 1/2, on a mirrored grid clustered at the
    walls: each part comes back, and their squares add up to the whole error's."""
    from eofpinn.solution import trapezoid_weights

    x = np.linspace(0.0, 4.0, 41)
    s = np.linspace(-1.0, 1.0, 61)
    y = 0.5 + 0.5 * np.sin(0.5 * np.pi * s)  # clustered at both walls, mirrored
    X, Y = np.meshgrid(x, y, indexing="ij")
    weights = trapezoid_weights(x, y)
    odd_field = np.sin(np.pi * X / 4.0) * np.sin(2.0 * np.pi * Y)  # odd about y = 1/2, like v of alike walls
    even_part = 1e-2 * np.cos(np.pi * X / 4.0) * Y * (1.0 - Y)
    odd_part = 3e-3 * odd_field
    split = mirror_split(even_part + odd_part, odd_field, weights)
    norm = np.sqrt((weights * odd_field**2).sum())
    assert split["even"] == pytest.approx(np.sqrt((weights * even_part**2).sum()) / norm, rel=1e-12)
    assert split["odd"] == pytest.approx(3e-3, rel=1e-12)
    whole = np.sqrt((weights * (even_part + odd_part) ** 2).sum()) / norm
    assert split["even"] ** 2 + split["odd"] ** 2 == pytest.approx(whole**2, rel=1e-12)
    assert mirror_symmetric(odd_field, y) and not mirror_symmetric(odd_field + even_part, y)
    assert not mirror_symmetric(odd_field, y**1.1) and not mirror_symmetric(0.0 * odd_field, y)


def test_graded_sections_lay_out_their_points_section_by_section_and_resolve_a_sliver_of_a_layer():
    """graded_sections: 8 Gauss–Legendre nodes on each of the 20 pieces between the graded edges,
    section after section; exact on polynomials, and within 1e-12 on e^{−y/0.002} + e^{−(1−y)/0.002},
    a layer whose bulk lies within 0.01 of the walls."""
    xs = np.array([0.25, 1.5])
    points, weights = graded_sections(xs)
    assert points.shape == (2 * 160, 2) and weights.shape == (2 * 160,)
    assert torch.equal(points[:160, 0], torch.full((160,), 0.25, dtype=torch.float64))
    y, w = points[:160, 1], weights[:160]
    assert bool(torch.all(torch.diff(y) > 0)) and float(w.sum()) == pytest.approx(1.0, rel=1e-14)
    assert float((w * y**5).sum()) == pytest.approx(1 / 6, rel=1e-13)
    layer = torch.exp(-y / 0.002) + torch.exp(-(1 - y) / 0.002)
    assert float((w * layer).sum()) == pytest.approx(2 * 0.002 * (1 - np.exp(-1 / 0.002)), rel=1e-12)


def test_the_error_map_reads_the_networks_gauged():
    """PINNModel.gauged_jets (what the error map and pinn_generalization read): raw networks whose c±
    carry constants (2 and 3 here, as a periodic channel's raw c± carry the content gauge's) come
    back divided by them — the c± of the loss and of the written fields; without exact gauges the
    jets are the networks' own."""
    from eofpinn.solvers.pinn.formulation import PINNModel

    class Raw:
        gauged, gauged_jets, gauge_inputs = PINNModel.gauged, PINNModel.gauged_jets, PINNModel.gauge_inputs

        def __init__(self, exact: bool):
            self.formulation = SimpleNamespace(exact_gauges=exact, valences=(1.0, -1.0))
            self.gauge_points = {"content": torch.rand(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))}

        def __call__(self, points):
            psi = torch.sin(3.0 * points[:, 0]) * torch.exp(-points[:, 1])
            jets = {"psi": psi, "c_plus": 2.0 * torch.exp(-psi), "c_minus": 3.0 * torch.exp(psi)}
            return {name: torch.stack([value] * 5) for name, value in jets.items()}

    points = torch.rand(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    gauged, raw = Raw(True).gauged_jets(points), Raw(False).gauged_jets(points)
    psi = raw["psi"][0]
    assert torch.allclose(gauged["c_plus"][0], torch.exp(-psi), rtol=1e-14, atol=0)
    assert torch.allclose(gauged["c_minus"][0], torch.exp(psi), rtol=1e-14, atol=0)
    assert torch.equal(raw["c_plus"][0], 2.0 * torch.exp(-psi)) and torch.equal(gauged["psi"], raw["psi"])


def test_residual_shares_split_each_mean_square_by_the_distance_from_the_wall(small_settings, exact_networks_factory,
                                                                            monkeypatch):
    """With Poisson's residual replaced by r = y (and Nernst–Planck's by 2, Stokes-x's by 0), the mean
    square over the channel is ∫ y² dy = 1/3, of which 0.684 lies within 0.3 of a wall (the
    sections' own band edge there, where Gauss–Legendre is exact); "poisson / I" divides by the
    exact solution's (c₊ + c₋)/2 = cosh ψ."""
    import validation.pinn_error_map as error_map

    trainer = _exact_trainer(small_settings, exact_networks_factory)
    captured = _capture_sections(monkeypatch)

    def fake_residuals(problem, jets, field, flux_force):
        y = captured["points"][:, 1]
        return {"poisson": y, "np_plus": torch.full_like(y, 2.0), "stokes_x": torch.zeros_like(y)}

    monkeypatch.setattr(error_map, "pde_residuals", fake_residuals)
    shares = residual_shares(trainer, per_unit=10, bands=(0.3,))
    assert shares["poisson"]["mean_square"] == pytest.approx(1 / 3, rel=1e-12)
    assert shares["poisson"]["shares"] == pytest.approx([0.684, 0.316], rel=1e-12)
    assert shares["np_plus"]["mean_square"] == pytest.approx(4.0, rel=1e-12)
    assert shares["np_plus"]["shares"] == pytest.approx([0.6, 0.4], rel=1e-12)
    assert shares["stokes_x"] == {"mean_square": 0.0, "shares": []}
    # Over the salt: the crowded wall's share shrinks (cosh ψ > 1 there, 1.54 at ζ̂ = 1).
    assert shares["poisson / I"]["mean_square"] < shares["poisson"]["mean_square"]
    assert shares["poisson / I"]["shares"][0] < 0.684
