"""The exact straight-channel solution makes every residual and loss term vanish (float64).

Three levels: physics.residuals on exact_derivatives; the formulation's maps (hard walls,
Slotboom/log/direct ions, excess/total pressure) fed with the exact solution's raw jets; and the
full loss (every PDE and boundary term) with the networks replaced by that exact module.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from eofpinn.cases import straight_problem
from eofpinn.cases.pinn_settings import FormulationSettings, replace
from eofpinn.physics.exact import exact_derivatives
from eofpinn.physics.residuals import residuals
from eofpinn.solvers.pinn.collocation import sample_collocation
from eofpinn.solvers.pinn.derivatives import as_derivatives
from eofpinn.solvers.pinn.formulation import FIELDS, Formulation, PINNModel
from eofpinn.solvers.pinn.losses import loss_terms

PROBLEMS = {
    "full_periodic_noflux": straight_problem(0.1, 1.0, 1.0, pressure_drop_hat=2.0),
    "full_reservoir_boltzmann": straight_problem(0.1, 1.5, 0.5, length_ratio=2.0, ends="reservoir",
                                                 ion_wall="boltzmann", pressure_drop_hat=1.0),
    "paper_reservoir_boltzmann": straight_problem(0.1414, 1.0, 1.0, ends="reservoir", ion_wall="boltzmann",
                                                  equations="paper"),
    "paper_periodic_noflux": straight_problem(0.2, -2.0, 1.0, equations="paper"),
}
FORMULATIONS = [
    dict(hard_walls=h, concentrations=c, pressure=p, pressure_scale=s, psi_base=b, flow_base=f)
    for (h, b, f), c, (p, s) in itertools.product(
        ((True, "linear", "none"), (True, "gouy_chapman", "none"), (True, "gouy_chapman", "electroosmotic"),
         (False, "linear", "none")),
        ("slotboom", "log", "direct"), (("excess", 1.0), ("total", 100.0)))
] + [dict(hard_walls=True, concentrations="slotboom", pressure=p, pressure_scale=1.0, psi_base="gouy_chapman",
          flow_base="electroosmotic", flow_scale="auto") for p in ("excess", "total")]  # U ≠ 1 on most PROBLEMS
FORMULATIONS += [dict(hard_walls=h, concentrations=c, pressure="core", pressure_scale=1.0, psi_base="gouy_chapman",
                      flow_base="electroosmotic") for h in (True, False) for c in ("slotboom", "log")]
FORMULATIONS += [dict(hard_walls=h, concentrations=c, psi_base="gouy_chapman", flow_base="electroosmotic",
                      ion_scale=0.05) for h in (True, False) for c in ("slotboom", "log")]  # s N± in the exponent


def _points(n: int = 400) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    # Away from the walls: the inverse maps divide by d(y) = 4y(1 − y).
    return torch.stack((torch.rand(n, generator=g, dtype=torch.float64) * 2.0,
                        0.01 + 0.98 * torch.rand(n, generator=g, dtype=torch.float64)), dim=1)


@pytest.mark.parametrize("name", PROBLEMS)
def test_residuals_of_exact_solution_vanish(name):
    problem = PROBLEMS[name]
    y = np.linspace(0.0, 1.0, 301)
    x = np.full_like(y, 0.3 * problem.length_ratio)
    d = exact_derivatives(problem, x, y)
    res = residuals(problem, d["psi"], d["c_plus"], d["c_minus"], d["u"], d["v"], d["P"])
    worst = max(float(np.max(np.abs(r))) for r in res.values())
    assert worst < 1e-8, {k: float(np.max(np.abs(r))) for k, r in res.items()}


@pytest.mark.parametrize("options", FORMULATIONS, ids=lambda o: "-".join(str(v) for v in o.values()))
@pytest.mark.parametrize("name", PROBLEMS)
def test_formulation_maps_exact_raw_jets_to_exact_fields(name, options, request):
    problem = PROBLEMS[name]
    exact_networks = request.getfixturevalue("exact_networks_factory")
    form = Formulation.build(problem, FormulationSettings(**options))
    points = _points()
    points[:, 0] *= problem.length_ratio / 2.0
    model = PINNModel(exact_networks(problem, form), form)
    fields = model(points)
    exact = exact_derivatives(problem, points[:, 0].numpy(), points[:, 1].numpy())
    for field in FIELDS:
        expected = np.stack([np.asarray(getattr(exact[field], r), float) * np.ones(len(points))
                             for r in ("f", "x", "y", "xx", "yy")])
        np.testing.assert_allclose(fields[field].numpy(), expected, atol=1e-9, rtol=1e-9, err_msg=field)
    res = residuals(problem, *(as_derivatives(fields[f]) for f in FIELDS))
    worst = max(float(r.abs().max()) for r in res.values())
    assert worst < 1e-8


@pytest.mark.parametrize("hard_walls", (True, False))
@pytest.mark.parametrize("name", PROBLEMS)
def test_every_loss_term_vanishes_for_the_exact_solution(name, hard_walls, small_settings, exact_networks_factory,
                                                          points_off_the_walls):
    problem = PROBLEMS[name]
    # Penalty gauges: their loss terms vanish too (exact gauges have a test of their own below).
    settings = replace(small_settings, {"formulation.hard_walls": hard_walls, "formulation.gauges": "penalty"})
    form = Formulation.build(problem, settings.formulation)
    points = points_off_the_walls(problem, settings)
    terms = loss_terms(problem, PINNModel(exact_networks_factory(problem, form), form), points)
    expected = {"poisson", "np_plus", "np_minus", "stokes_x", "stokes_y", "continuity"}
    assert expected <= set(terms)
    if problem.ends == "reservoir":
        assert {"end_psi", "end_ions", "end_velocity", "end_pressure"} <= set(terms)
    else:
        assert "pressure_gauge" in terms
    assert ("content_plus" in terms) == (not problem.fixes_ion_content)
    assert ("wall_psi" in terms) == (not hard_walls)
    # Walls sit 1e-7 inside the domain: wall values are off by O(1e-7 · slope), squared.
    for term, value in terms.items():
        assert float(value) < (1e-10 if term.startswith("wall") else 1e-16), (term, float(value))


@pytest.mark.parametrize("name", ["full_periodic_noflux", "paper_periodic_noflux"])
def test_exact_gauges_hold_by_construction_and_leave_the_exact_solution_exact(name, small_settings,
                                                                               exact_networks_factory):
    """gauges = "exact": no gauge terms; the mean of c± e^{±ψ} over the uniform points is 1 and the
    outlet section's mean of P (the trapezoid rule over the outlet points' heights, which are
    clustered at the walls) is 0 for ANY networks, to the quadrature's error on a fine grid; for the
    exact networks the fields are unchanged."""
    from eofpinn.solvers.pinn.channel import ChannelTask
    from eofpinn.cases import case_from_problem

    problem = PROBLEMS[name]
    settings = replace(small_settings, {"formulation.gauges": "exact"})
    form = Formulation.build(problem, settings.formulation)
    assert form.exact_gauges
    points = sample_collocation(problem, settings.points, torch.Generator().manual_seed(0))
    exact = PINNModel(exact_networks_factory(problem, form), form)
    terms = loss_terms(problem, exact, points)
    assert not {"content_plus", "content_minus", "pressure_gauge"} & set(terms)
    task = ChannelTask(case_from_problem(problem, pinn=settings), settings)
    model = task.build_model(torch.Generator().manual_seed(1)).double()
    for block in model.networks.blocks.values():  # far from any gauge
        block.layers[-1].bias.data.fill_(0.3)
    task.bind(model, points)
    values = model.values(points.interior[:points.n_uniform])
    for c, sign in (("c_plus", 1.0), ("c_minus", -1.0)):
        assert float(torch.mean(values[c] * torch.exp(sign * values["psi"]))) == pytest.approx(1.0, abs=1e-12)
    if problem.ends == "periodic":
        from eofpinn.solvers.pinn.collocation import section_mean_weights

        weights = section_mean_weights(points.outlet[:, 1])
        assert float(weights.sum()) == pytest.approx(1.0, abs=1e-14)
        assert float(torch.sum(weights * model.values(points.outlet)["P"])) == pytest.approx(0.0, abs=1e-12)
        y = (torch.arange(20000, dtype=torch.float64) + 0.5) / 20000
        section = model.values(torch.stack((torch.full_like(y, problem.length_ratio), y), dim=1))["P"]
        spread = float(section.max() - section.min())
        assert spread > 1e-2  # these networks' P varies across the section ...
        # ... and its mean there is 0 to 1e-3 of that (measured 3.3e-5: the trapezoid rule's error),
        # where the plain mean of the clustered points is off by 3.4e-2 of it
        assert abs(float(section.mean())) < 1e-3 * spread
        assert abs(float(torch.mean(model.values(points.outlet)["P"]))) > 1e-2 * spread


def test_adaptive_sampling_density_is_the_loss_s_own_weighted_residuals(small_settings):
    """RAD draws where Σ λ_i r_i² is large: at each point the residuals exactly as the loss counts
    them (on the gauged fields, Poisson and Nernst–Planck over the ionic strength when the
    formulation asks), so the density's mean over the interior points is the weighted PDE loss."""
    from eofpinn.cases import case_from_problem
    from eofpinn.solvers.pinn.channel import ChannelTask
    from eofpinn.solvers.pinn.losses import residual_density

    problem = PROBLEMS["full_periodic_noflux"]
    settings = replace(small_settings, {"formulation.gauges": "exact", "formulation.ion_residuals": "ionic_strength",
                                        "formulation.poisson_residual": "ionic_strength"})
    task = ChannelTask(case_from_problem(problem, pinn=settings), settings)
    model = task.build_model(torch.Generator().manual_seed(1)).double()
    for block in model.networks.blocks.values():  # raw c± far from the content gauge
        block.layers[-1].bias.data.fill_(0.3)
    points = sample_collocation(problem, settings.points, torch.Generator().manual_seed(0))
    task.bind(model, points)
    weights = {"poisson": 2.0, "np_plus": 3.0, "np_minus": 0.5, "stokes_x": 1.5, "stokes_y": 4.0, "continuity": 0.25}
    terms = loss_terms(problem, model, points)
    weighted_loss = sum(w * float(terms[name].detach()) for name, w in weights.items())
    density = residual_density(problem, model, points.interior, weights)
    assert density.shape == (points.interior.shape[0],)
    assert float(density.mean()) == pytest.approx(weighted_loss, rel=1e-10)


def test_flow_scale_is_the_velocity_the_drive_makes():
    """flow_scale "auto": U = max(|Ê| max|ζ̂|, |Δp̂|/(8ℓ)), 1 without a drive; "none" (default) 1; a number: itself."""
    from eofpinn.cases.pinn_settings import SettingError
    from eofpinn.solvers.pinn.formulation import velocity_scale

    assert velocity_scale(PROBLEMS["full_reservoir_boltzmann"]) == pytest.approx(0.75)  # Ê 0.5 × ζ̂ 1.5
    assert velocity_scale(straight_problem(0.1, -2.0, 0.04)) == pytest.approx(0.08)
    assert velocity_scale(straight_problem(0.1, 1.0, 0.0, pressure_drop_hat=-32.0)) == pytest.approx(4.0)  # ℓ = 1
    assert velocity_scale(straight_problem(0.1, 1.0, 0.0)) == 1.0
    problem = straight_problem(0.1, -2.0, 0.04)
    assert Formulation.build(problem, FormulationSettings()).velocity_scale == 1.0  # "none"
    assert Formulation.build(problem, FormulationSettings(flow_scale="auto")).velocity_scale == pytest.approx(0.08)
    assert Formulation.build(problem, FormulationSettings(flow_scale=0.5)).velocity_scale == 0.5
    with pytest.raises(SettingError, match=r"\[pinn.formulation.flow_scale\] must be \"none\", \"auto\" or a number"):
        FormulationSettings(flow_scale=-1.0)
    # Only a key declared `str | float` takes a number in place of a word.
    from eofpinn.cases.model import PINNSettings
    assert replace(PINNSettings(), {"formulation.flow_scale": 2}).formulation.flow_scale == 2.0
    with pytest.raises(SettingError, match=r"\[pinn.network.adapters\] must be a string \(default 'none'\); got 3"):
        replace(PINNSettings(), {"network.adapters": 3})


@pytest.mark.parametrize("name", ["full_periodic_noflux", "full_reservoir_boltzmann"])
def test_x_averaged_balance_vanishes_exactly_and_measures_a_mean_force(name, small_settings, exact_networks_factory):
    """[pinn.points] balance_rows: the term `stokes_x_mean` is 0 at the exact solution, and adding
    δ·y(1 − y) to u (u_yy = −2δ everywhere) makes every row mean −2δ, so the term is 4δ²."""
    from eofpinn.solvers.pinn.losses import x_averaged_balance_term

    problem = PROBLEMS[name]
    settings = replace(small_settings, {"points.balance_rows": 6, "points.balance_nodes": 8})
    form = Formulation.build(problem, settings.formulation)
    points = sample_collocation(problem, settings.points, torch.Generator().manual_seed(0))
    points.rows[:, 1].clamp_(1e-7, 1 - 1e-7)
    model = PINNModel(exact_networks_factory(problem, form), form)
    assert float(loss_terms(problem, model, points)["stokes_x_mean"]) < 1e-16
    jets = model(points.rows)
    y, delta = points.rows[:, 1], 1e-2
    jets["u"] = jets["u"] + torch.stack((delta * y * (1 - y), 0 * y, delta * (1 - 2 * y), 0 * y, -2 * delta + 0 * y))
    assert float(x_averaged_balance_term(problem, jets, points.n_rows, None)) == pytest.approx(4 * delta**2, rel=1e-9)


def test_balance_rows_are_equispaced_rows_that_average_periodic_modes_exactly():
    problem = PROBLEMS["full_periodic_noflux"]
    from eofpinn.cases.pinn_settings import PointSettings

    settings = PointSettings(balance_rows=10, balance_nodes=16)
    points = sample_collocation(problem, settings, torch.Generator().manual_seed(2))
    rows = points.rows.reshape(10, 16, 2)
    ell = problem.length_ratio
    assert points.n_rows == 10 and "rows" in points.regions()
    assert torch.all(rows[:, :, 1] == rows[:, :1, 1])  # one y per row
    np.testing.assert_allclose(torch.diff(rows[:, :, 0], dim=1).numpy(), ell / 16, rtol=1e-12)
    assert torch.all((rows[:, 0, 0] >= 0) & (rows[:, 0, 0] < ell / 16))
    # Half of the rows in the wall bands, like the interior.
    assert int(((rows[:, 0, 1] < 0.3) | (rows[:, 0, 1] > 0.7)).sum()) >= 5
    # The row mean of a periodic mode below the node count is exact: sin(2πk x/ℓ) averages to 0.
    for k in (1, 5, 15):
        assert float(torch.sin(2 * np.pi * k * rows[:, :, 0] / ell).mean(dim=1).abs().max()) < 1e-13
    assert PointSettings().balance_rows == 0 and sample_collocation(
        problem, PointSettings(), torch.Generator().manual_seed(2)).rows is None


@pytest.mark.parametrize("name", ["full_periodic_noflux", "full_reservoir_boltzmann"])
def test_flux_balances_vanish_exactly_and_measure_a_flux_that_changes_along_x(name, small_settings,
                                                                             exact_networks_factory):
    """[pinn.points] balance_sections: the section terms are 0 at the exact solution; adding
    δ·x·6y(1 − y) to u makes the volume flux through a section grow at the rate δ (∫ 6y(1 − y) dy
    = 1), so `section_continuity` = δ² — the quadrature is exact for this polynomial."""
    from eofpinn.solvers.pinn.losses import flux_balance_terms

    problem = PROBLEMS[name]
    settings = replace(small_settings, {"points.balance_sections": 5})
    form = Formulation.build(problem, settings.formulation)
    points = sample_collocation(problem, settings.points, torch.Generator().manual_seed(0))
    assert points.n_columns == 5 and points.columns.shape == (5 * 64, 2)
    model = PINNModel(exact_networks_factory(problem, form), form)
    terms = loss_terms(problem, model, points)
    for term in ("section_continuity", "section_np_plus", "section_np_minus"):
        assert float(terms[term]) < 1e-16, term
    jets = model(points.columns)
    x, y, delta = points.columns[:, 0], points.columns[:, 1], 1e-2
    bump = 6 * y * (1 - y)
    jets["u"] = jets["u"] + delta * torch.stack((x * bump, bump, x * (6 - 12 * y), 0 * y, -12 * x))
    found = flux_balance_terms(problem, jets, points.column_weights, points.n_columns, None)
    assert float(found["section_continuity"]) == pytest.approx(delta**2, rel=1e-9)
    # The sections are stratified over the channel: one in each fifth of [0, ℓ].
    x_sections = points.columns[::64, 0] / problem.length_ratio
    assert torch.all((x_sections >= torch.arange(5) / 5) & (x_sections < (torch.arange(5) + 1) / 5))


@pytest.mark.parametrize("name", ["full_periodic_noflux", "full_reservoir_boltzmann"])
def test_flux_spreads_vanish_exactly_and_are_the_variance_of_the_fluxes_over_the_sections(name, small_settings,
                                                                                       exact_networks_factory):
    """[pinn.points] section_terms = "spread": the variance over the sections of the volume flux
    and (impermeable walls only) of each ion flux is 0 at the exact solution; adding δ·x·6y(1 − y)
    to u makes the volume flux through the section at x_k grow by δ x_k, so `spread_volume` is
    δ² × the variance of the x_k. "both" carries the divergence terms as well."""
    from eofpinn.solvers.pinn.losses import flux_spread_terms

    problem = PROBLEMS[name]
    settings = replace(small_settings, {"points.balance_sections": 6, "points.section_terms": "spread"})
    form = Formulation.build(problem, settings.formulation)
    points = sample_collocation(problem, settings.points, torch.Generator().manual_seed(0))
    model = PINNModel(exact_networks_factory(problem, form), form)
    terms = loss_terms(problem, model, points)
    expected = {"spread_volume"} | ({"spread_plus", "spread_minus"} if problem.ion_wall == "no_flux" else set())
    assert {t for t in terms if t.startswith(("spread_", "section_"))} == expected
    for term in expected:
        assert float(terms[term]) < 1e-16, term
    jets = model(points.columns)
    x, y, delta = points.columns[:, 0], points.columns[:, 1], 1e-2
    bump = 6 * y * (1 - y)
    jets["u"] = jets["u"] + delta * torch.stack((x * bump, bump, x * (6 - 12 * y), 0 * y, -12 * x))
    found = flux_spread_terms(problem, jets, points.column_weights, points.n_columns, model.field)
    x_sections = points.columns[::64, 0]
    assert float(found["spread_volume"]) == pytest.approx(delta**2 * float(x_sections.var(unbiased=False)), rel=1e-9)
    both = replace(small_settings, {"points.balance_sections": 6, "points.section_terms": "both"})
    terms = loss_terms(problem, model, sample_collocation(problem, both.points, torch.Generator().manual_seed(0)))
    assert expected | {"section_continuity", "section_np_plus", "section_np_minus"} <= set(terms)


@pytest.mark.parametrize("valences", [(1.0, -1.0), (2.0, -1.0), (1.0, -3.0)])
def test_core_pressure_removes_exactly_the_osmotic_pressure_of_the_local_salt_level(valences):
    """pressure = "core": for Boltzmann ions at any salt level, c± = λ e^{−ẑ±ψ} with λ(x, y) and
    ψ(x, y) arbitrary, Π_s is (λ − 1)/(|ẑ₊ẑ₋| ε²) with its derivatives, so P = p − Π holds the
    double layers' osmotic part only; and P − (network part) is Π_s − 0 at λ = 1 (no salt excess)."""
    from eofpinn.solvers.pinn import derivatives as jets

    problem = straight_problem(0.05, 1.0, 1.0)
    form = dataclasses.replace(Formulation.build(problem, FormulationSettings(pressure="core")), valences=valences)
    x, y = _points(50).T
    # Jets (f, ∂x, ∂y, ∂xx, ∂yy) of ln λ = 0.3 sin(x) y and ψ = cos(2x) + y².
    log_level = torch.stack((0.3 * torch.sin(x) * y, 0.3 * torch.cos(x) * y, 0.3 * torch.sin(x),
                             -0.3 * torch.sin(x) * y, 0 * y))
    psi = torch.stack((torch.cos(2 * x) + y**2, -2 * torch.sin(2 * x), 2 * y, -4 * torch.cos(2 * x), 2 + 0 * y))
    c_plus, c_minus = (jets.exponential(log_level - z * psi) for z in valences)
    level = jets.exponential(log_level)
    expected = (level - jets.constant_jet(1.0, level)) / (abs(valences[0] * valences[1]) * 0.05**2)
    torch.testing.assert_close(form.salt_osmotic_jet(c_plus, c_minus), expected, rtol=1e-10, atol=1e-9)
    ones = jets.exponential(0 * log_level - valences[0] * psi), jets.exponential(0 * log_level - valences[1] * psi)
    assert float(form.salt_osmotic_jet(*ones).abs().max()) < 1e-9


def test_core_pressure_refuses_direct_concentrations():
    from eofpinn.cases.pinn_settings import SettingError

    with pytest.raises(SettingError, match=r"formulation.pressure.*concentrations = \"direct\""):
        FormulationSettings(pressure="core", concentrations="direct")


@pytest.mark.parametrize("name", ["full_reservoir_boltzmann", "full_periodic_noflux"])
def test_every_loss_term_vanishes_with_the_core_pressure(name, small_settings, exact_networks_factory,
                                                          points_off_the_walls):
    """pressure = "core", the end condition on P + Π_s included."""
    problem = PROBLEMS[name]
    settings = replace(small_settings, {"formulation.pressure": "core", "formulation.gauges": "penalty"})
    form = Formulation.build(problem, settings.formulation)
    points = points_off_the_walls(problem, settings)
    terms = loss_terms(problem, PINNModel(exact_networks_factory(problem, form), form), points)
    assert ("end_pressure" in terms) == (problem.ends == "reservoir")
    for term, value in terms.items():
        assert float(value) < (1e-10 if term.startswith("wall") else 1e-16), (term, float(value))


def test_recorded_settings_rebuild_exactly():
    from eofpinn.cases.pinn_settings import PINNSettings, as_table, recorded_settings

    settings = replace(PINNSettings(), {"network.width": 24, "points.balance_rows": 3, "optimizer.betas": [0.9, 0.99],
                                        "formulation.pressure": "core", "steps": 77})
    assert recorded_settings(as_table(settings)) == settings
    assert recorded_settings(as_table(PINNSettings())) == PINNSettings()


def test_recorded_residuals_are_what_each_term_is_the_mean_square_of(small_settings):
    """Inside recording_residuals() a point-by-point term hands back its residuals: Σ mean(r²) over
    them is the term, the PDE terms carry one residual per interior point, and the flux spreads
    (variances over sections, not mean squares) are left out. Outside, nothing is recorded."""
    from eofpinn.solvers.pinn.formulation import build_model
    from eofpinn.solvers.pinn.losses import recording_residuals, term_residuals

    problem = PROBLEMS["full_reservoir_boltzmann"]
    settings = replace(small_settings, {"points.balance_sections": 4, "points.section_terms": "spread"})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    points = sample_collocation(problem, settings.points, torch.Generator().manual_seed(0))
    with recording_residuals() as record:
        terms = loss_terms(problem, model, points)
    found = term_residuals(terms, record)
    assert {"poisson", "np_plus", "np_minus", "stokes_x", "stokes_y", "continuity", "end_psi"} <= set(found)
    assert not {t for t in found if t.startswith("spread_")} and "spread_volume" in terms
    for name, residuals in found.items():
        assert float(sum(torch.mean(r * r) for r in residuals)) == pytest.approx(float(terms[name]), rel=1e-12), name
    assert all(r.numel() == len(points.interior) for r in found["poisson"]) and float(terms["poisson"]) > 0
    n = len(record)
    loss_terms(problem, model, points)
    assert len(record) == n  # the closed record no longer grows


def test_the_flow_and_the_ions_each_own_a_share_of_the_terms(small_settings):
    """losses.own_terms splits a case's terms in two, with nothing left over: the flow's own
    (each of which moves with the flow block) and the ions' (Poisson and the reservoir ends' ψ
    and c± targets among them, which do not see the flow at all); any other part is refused."""
    from eofpinn.solvers.pinn.formulation import build_model
    from eofpinn.solvers.pinn.losses import own_terms

    problem = PROBLEMS["full_reservoir_boltzmann"]
    settings = replace(small_settings, {"points.balance_sections": 4, "points.section_terms": "both",
                                        "points.balance_rows": 3})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    points = sample_collocation(problem, settings.points, torch.Generator().manual_seed(0))
    terms = loss_terms(problem, model, points)
    names = list(terms)
    flow, ions = own_terms("flow", names), own_terms("ions", names)
    assert set(flow) | set(ions) == set(names) and not set(flow) & set(ions) and own_terms("all", names) == names
    assert set(flow) == {"stokes_x", "stokes_y", "continuity", "end_velocity", "end_pressure", "stokes_x_mean",
                         "section_continuity", "spread_volume"}
    block = list(model.networks.blocks["flow"].parameters())
    for name in names:
        grads = torch.autograd.grad(terms[name], block, retain_graph=True, allow_unused=True)
        moves = any(g is not None and float(g.abs().max()) > 0 for g in grads)
        if name in flow or name in ("np_plus", "np_minus", "section_np_plus", "section_np_minus"):
            assert moves, name
        if name in ("poisson", "end_psi", "end_ions"):
            assert not moves, name
    with pytest.raises(ValueError, match=r"^own_terms: part must be all, flow or ions; got 'psi'$"):
        own_terms("psi", names)
