"""Collocation layout, the error metric, checkpoint atomicity and the settings' case-file types."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from eofpinn.cases import case_from_problem, straight_problem
from eofpinn.cases.model import PINNSettings, Problem, ZetaSegment
from eofpinn.cases.pinn_settings import FormulationSettings, PointSettings, RecordSettings, SettingError
from eofpinn.pinn_runs import load_checkpoint, save_checkpoint
from eofpinn.solvers.pinn.collocation import adapted, sample_collocation, wall_band_height
from eofpinn.solvers.pinn.evaluation import Evaluator, relative_l2
from eofpinn.solvers.pinn.formulation import Formulation
from eofpinn.solution import FIELD_NAMES, Solution
from eofpinn.validation.compare import field_errors


def test_wall_band_clustering_and_boundary_points():
    problem = straight_problem(0.02, 1.0, 1.0, length_ratio=3.0, ends="reservoir")
    settings = PointSettings(n_interior=4000, n_boundary=100)
    band = wall_band_height(problem, settings)
    assert band == pytest.approx(5 * math.sqrt(2) * 0.02)
    assert wall_band_height(straight_problem(0.1414, 1.0, 1.0), settings) == 0.3
    points = sample_collocation(problem, settings, torch.Generator().manual_seed(0))
    x, y = points.interior[:, 0], points.interior[:, 1]
    assert points.interior.shape == (4000, 2) and points.n_uniform == 2000
    assert float(x.min()) >= 0 and float(x.max()) <= 3.0
    banded = y[points.n_uniform:]
    assert bool(((banded <= band) | (banded >= 1 - band)).all())
    assert abs(float((banded < 0.5).double().mean()) - 0.5) < 0.05
    assert abs(float(y[:points.n_uniform].mean()) - 0.5) < 0.02
    assert bool((points.bottom[:, 1] == 0).all()) and bool((points.top[:, 1] == 1).all())
    assert bool((points.inlet[:, 0] == 0).all()) and bool((points.outlet[:, 0] == 3.0).all())
    assert points.inlet.shape == (100, 2)
    # ψ_eq at the ends: Gouy–Chapman near the wall for ε ≪ 1.
    near = points.inlet[:, 1] < 0.02
    from eofpinn.physics.exact import gouy_chapman

    expected = gouy_chapman(1.0, points.inlet[near, 1].numpy(), 0.02)
    np.testing.assert_allclose(points.psi_inlet[near].numpy(), expected, atol=2e-3)


def test_periodic_ends_sample_the_outlet_only():
    points = sample_collocation(straight_problem(0.1, 1.0, 1.0), PointSettings(n_boundary=50),
                                torch.Generator().manual_seed(0))
    assert points.inlet.shape == (0, 2) and points.outlet.shape == (50, 2)


def test_patterned_walls_fall_back_to_soft_wall_potential():
    wall = (ZetaSegment(0.0, 0.5, 1.0), ZetaSegment(0.5, 1.0, -1.0))
    problem = Problem(debye_ratio=0.1, length_ratio=1.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall,
                      ion_wall="boltzmann")
    form = Formulation.build(problem, FormulationSettings(hard_walls=True))
    assert not form.hard_psi and not form.hard_ions and form.hard_velocity
    points = sample_collocation(problem, PointSettings(n_boundary=400), torch.Generator().manual_seed(1))
    left = points.bottom[:, 0] < 0.5
    assert bool((points.zeta_bottom[left] == 1.0).all()) and bool((points.zeta_bottom[~left] == -1.0).all())


def test_relative_l2_and_the_velocity_scale_floor():
    problem = straight_problem(0.1, 1.0, 1.0)
    settings = RecordSettings(eval_nx=5, eval_ny=40)
    evaluator = Evaluator(problem, None, settings, torch.device("cpu"), torch.float64)
    ref = evaluator.reference
    perturbed = {k: v.clone() for k, v in ref.items()}
    perturbed["u"] = ref["u"] * 1.01
    perturbed["v"] = ref["v"] + 0.001 * ref["u"].abs().max()
    errors = relative_l2(perturbed, ref, evaluator.denominators, evaluator.weights)
    names = Evaluator.keys()
    got = dict(zip(names, errors.tolist()))
    assert got["u"] == pytest.approx(0.01, rel=1e-9)
    # v_ref ≡ 0: RMS error over the peak reference speed.
    assert got["v"] == pytest.approx(0.001, rel=1e-9)
    assert got["psi"] == 0 and got["phi"] == 0
    assert got["mean"] == pytest.approx(0.01 / 4, rel=1e-9)


def test_atomic_checkpoint_write_leaves_previous_file_on_failure(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"step": 1}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_checkpoint({"step": 2, "bad": Unpicklable()}, path)
    assert load_checkpoint(tmp_path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_settings_defaults_have_case_file_types():
    """The case loader infers each [pinn] key's type from its default: no None defaults, except
    the optional learning rate (absent: the optimiser's own)."""
    from eofpinn.cases.pinn_settings import SECTIONS

    settings = PINNSettings()
    for f in dataclasses.fields(PINNSettings):
        value = getattr(settings, f.name)
        if f.name in SECTIONS:
            for g in dataclasses.fields(value):
                inner = getattr(value, g.name)
                if g.name == "learning_rate":  # [pinn.optimizer] and [pinn.polish]
                    assert inner is None
                elif g.name != "options":
                    assert isinstance(inner, (bool, int, float, str, tuple)), (f.name, g.name)
        else:
            assert isinstance(value, (bool, int, float, str, tuple)), f.name


def test_adaptive_sampling_draws_where_the_residual_is_large_and_keeps_the_rest():
    problem = straight_problem(0.1, 1.0, 1.0, length_ratio=2.0)
    settings = PointSettings(n_interior=1000, wall_fraction=0.3, adaptive_fraction=0.4, adaptive_pool=8,
                             adaptive_power=2.0, adaptive_floor=0.0)
    points = sample_collocation(problem, settings, torch.Generator().manual_seed(0))
    assert points.interior.shape == (1000, 2) and points.n_uniform == 300

    def density(pool):  # a residual concentrated around x = 0.5
        return torch.exp(-((pool[:, 0] - 0.5) / 0.1) ** 2)

    after = adapted(points, 400, density, settings, problem, torch.Generator().manual_seed(1))
    assert torch.equal(after.interior[:600], points.interior[:600])  # uniform and band points stay
    near = (after.interior[600:, 0] - 0.5).abs() < 0.2
    assert float(near.double().mean()) > 0.9  # uniform share of |x − 0.5| < 0.2 would be 0.2
    flat = adapted(points, 400, density, dataclasses.replace(settings, adaptive_power=0.0), problem,
                   torch.Generator().manual_seed(1))
    assert abs(float(((flat.interior[600:, 0] - 0.5).abs() < 0.2).double().mean()) - 0.2) < 0.06  # k = 0: uniform


def test_edge_points_gather_at_the_pattern_corners():
    wall = (ZetaSegment(0.0, 1.0, 2.0), ZetaSegment(1.0, 2.0, -1.0))
    problem = Problem(debye_ratio=0.05, length_ratio=2.0, field_hat=1.0, zeta_bottom=wall,
                      zeta_top=(ZetaSegment(0.0, 2.0, 1.0),), zeta_transition=0.02)
    assert problem.pattern_corners() == [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)]
    settings = PointSettings(n_interior=2000, wall_fraction=0.2, edge_fraction=0.5)
    points = sample_collocation(problem, settings, torch.Generator().manual_seed(0))
    edge = points.interior[1000:]  # after the uniform (600) and band (400) points; no adaptive ones
    assert edge.shape == (1000, 2)
    distance_to_corner = torch.minimum((edge[:, 0] - 1.0).abs(), torch.minimum(edge[:, 0], 2.0 - edge[:, 0]))
    assert float((distance_to_corner < 0.3).double().mean()) > 0.95  # spread 2 max(w, ε) = 0.1
    assert float(edge[:, 1].max()) <= wall_band_height(problem, settings) + 1e-12  # the bottom wall's band
    # Depth half-normal with spread max(w, ε/2) = 0.025: median 0.674 × 0.025 = 0.017 (uniform in the band: 0.15).
    assert 0.012 < float(edge[:, 1].median()) < 0.022


def test_wall_points_can_gather_at_each_walls_own_corners():
    """boundary_edge_fraction = 1/2: half of each wall's points Gaussian about that wall's corners
    (spread 2 max(w, ε) = 0.1), the rest uniform; a wall without corners keeps uniform points,
    and the default draws the walls as before (the same numbers from the generator)."""
    wall = (ZetaSegment(0.0, 1.0, 2.0), ZetaSegment(1.0, 2.0, -1.0))
    problem = Problem(debye_ratio=0.05, length_ratio=2.0, field_hat=1.0, zeta_bottom=wall,
                      zeta_top=(ZetaSegment(0.0, 2.0, 1.0),), zeta_transition=0.02, ends="reservoir")
    assert problem.pattern_corners() == [(1.0, 0.0)]  # reservoir ends: x = 0 is no corner
    plain = PointSettings(n_interior=200, n_boundary=2000)
    points = sample_collocation(problem, dataclasses.replace(plain, boundary_edge_fraction=0.5),
                                torch.Generator().manual_seed(0))
    bottom, top = points.bottom[:, 0], points.top[:, 0]
    assert bottom.shape == top.shape == (2000,) and float(points.bottom[:, 1].abs().max()) == 0.0
    # 1000 uniform on [0, 2] put 5 % within 0.05 of x = 1; 1000 Gaussian (spread 0.1) 38.3 %.
    assert 0.19 < float(((bottom - 1.0).abs() < 0.05).double().mean()) < 0.25
    assert 0.36 < float(((bottom[1000:] - 1.0).abs() < 0.05).double().mean()) < 0.41
    assert float(((top - 1.0).abs() < 0.05).double().mean()) < 0.07  # the top wall has no corner
    assert points.zeta_bottom.tolist() == problem.zeta_wall("bottom", bottom.numpy()).tolist()
    default = sample_collocation(problem, plain, torch.Generator().manual_seed(0))
    again = sample_collocation(problem, dataclasses.replace(plain, boundary_edge_fraction=0.0),
                               torch.Generator().manual_seed(0))
    assert torch.equal(default.bottom, again.bottom) and torch.equal(default.interior, again.interior)
    with pytest.raises(SettingError, match=r"\[pinn.points.boundary_edge_fraction\] must be a number in \[0, 1\]; got 2"):
        dataclasses.replace(plain, boundary_edge_fraction=2)


def test_the_2d_recipe_adds_corner_points_to_the_same_uniform_and_band_points():
    """The recipe's 1100 interior points are the 500 uniform and 500 wall-band points that 1000
    points at wall_fraction 1/2 draw, followed by 100 about the corners (x = 5 on both walls)."""
    from eofpinn.cases import load_case

    case = load_case("zeta_step")
    problem, recipe = case.problem, case.pinn.points
    before = dataclasses.replace(recipe, n_interior=1000, wall_fraction=0.5, edge_fraction=0.0)
    new = sample_collocation(problem, recipe, torch.Generator().manual_seed(3))
    old = sample_collocation(problem, before, torch.Generator().manual_seed(3))
    assert new.interior.shape == (1100, 2) and new.n_uniform == old.n_uniform == 500
    assert torch.equal(new.interior[:1000], old.interior)
    corners = new.interior[1000:]
    # x Gaussian about the step with spread 2 max(w, ε) = 2ε (ε = 0.0962): 95.4 % within 2 spreads.
    assert 0.92 < float(((corners[:, 0] - 5.0).abs() < 4.0 * problem.debye_ratio).double().mean()) < 0.99
    wall_distance = torch.minimum(corners[:, 1], 1.0 - corners[:, 1])
    assert float((corners[:, 1] < 0.5).double().mean()) == pytest.approx(0.5, abs=0.1)  # both walls' corners
    assert 0.5 * 0.674 * 0.8 * problem.debye_ratio < float(wall_distance.median()) < 0.5 * 0.674 * 1.2 * problem.debye_ratio


def test_stratified_uniform_points_fill_one_cell_each_and_integrate_far_better():
    """points.uniform = "stratified" moves the same uniform draws into a jittered grid (500 points
    on ℓ = 2: 25 × 20 cells of 0.08 × 0.05, one point each) and leaves every other point as drawn;
    the mean over them of a function with a wall layer and a variation along x errs several times
    less than over the independent points (RMS over 40 draws: 5.7-6.0× measured, two sets of
    seeds; the Slotboom factors of a trained run gain more, docs/method.md)."""
    from eofpinn.cases import load_case

    problem = load_case("patterned_zeta").problem
    settings = PointSettings(n_interior=1000, wall_fraction=0.5)
    stratified = dataclasses.replace(settings, uniform="stratified")
    new = sample_collocation(problem, stratified, torch.Generator().manual_seed(5))
    old = sample_collocation(problem, settings, torch.Generator().manual_seed(5))
    n = new.n_uniform
    assert n == 500 and torch.equal(new.interior[n:], old.interior[n:]) and torch.equal(new.bottom, old.bottom)
    x, y = new.interior[:n, 0], new.interior[:n, 1]
    cells = (torch.floor(x / 0.08) * 20 + torch.floor(y / 0.05)).long()
    assert sorted(cells.tolist()) == list(range(500))

    def f(x, y):  # its exact mean over [0, 2] × [0, 1] below
        return 1.0 + 0.5 * torch.exp(-10.0 * y) * torch.cos(math.pi * x) ** 2 + 0.1 * torch.sin(math.pi * x)

    exact = 1.0 + 0.5 * (1 - math.exp(-10.0)) / 10.0 * 0.5
    errors = {"random": [], "stratified": []}
    for seed in range(40):
        for name, s in (("random", settings), ("stratified", stratified)):
            p = sample_collocation(problem, s, torch.Generator().manual_seed(seed)).interior[:n]
            errors[name].append(float(f(p[:, 0], p[:, 1]).mean()) - exact)
    rms = {k: math.sqrt(sum(e * e for e in v) / len(v)) for k, v in errors.items()}
    assert rms["random"] > 3.0 * rms["stratified"]
    with pytest.raises(SettingError, match=r"^\[pinn\.points\.uniform\] must be one of 'random', 'stratified'; got 'sobol'$"):
        PointSettings(uniform="sobol")


def test_band_grading_packs_the_band_points_towards_the_walls():
    """band_grading k: band points at distance h s^k from a wall, so the share within q h of it is
    q^(1/k) (k = 3, q = 0.008: 0.2, where uniform band points put 0.008 there); the uniform points,
    the boundary points and the band's height are untouched, and k = 1 is the uniform band."""
    problem = straight_problem(0.1, 1.0, 1.0)
    plain = PointSettings(n_interior=40000, wall_fraction=0.5)
    graded = dataclasses.replace(plain, band_grading=3.0)
    h = wall_band_height(problem, plain)
    draws = {k: sample_collocation(problem, settings, torch.Generator().manual_seed(0))
             for k, settings in (("plain", plain), ("graded", graded),
                                 ("one", dataclasses.replace(plain, band_grading=1.0)))}
    assert torch.equal(draws["one"].interior, draws["plain"].interior)
    assert torch.equal(draws["graded"].interior[:20000], draws["plain"].interior[:20000])
    assert torch.equal(draws["graded"].bottom, draws["plain"].bottom)
    for name, share in (("plain", 0.008), ("graded", 0.2)):
        y = draws[name].interior[20000:, 1]
        distance = torch.minimum(y, 1.0 - y)
        assert float(distance.max()) <= h
        assert float((distance < 0.008 * h).double().mean()) == pytest.approx(share, abs=0.015)
    with pytest.raises(SettingError, match=r"^\[pinn\.points\.band_grading\] must be a number in \[1, 10\] "
                                           r"\(1: uniform in the wall bands\); got 0\.5$"):
        PointSettings(band_grading=0.5)


def test_transition_points_span_the_height_about_the_change_of_wall_condition():
    wall = (ZetaSegment(0.0, 5.0, -2.0), ZetaSegment(5.0, 10.0, -0.4))
    problem = Problem(debye_ratio=0.1, length_ratio=10.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall,
                      ends="reservoir", zeta_transition=0.02)
    plain = PointSettings(n_interior=2000, wall_fraction=0.2, adaptive_fraction=0.1, adaptive_every=10)
    settings = dataclasses.replace(plain, transition_fraction=0.5)
    points = sample_collocation(problem, settings, torch.Generator().manual_seed(0))
    assert points.interior.shape == (2000, 2)
    transition = points.interior[800:1800]  # after the uniform (400) and band (400) points, before the adaptive (200)
    # x Gaussian about x = 5 with spread 1/2: 95.4 % within 1, 68.3 % within 1/2 (±3 % for 1000 draws).
    distance = (transition[:, 0] - 5.0).abs()
    assert 0.93 < float((distance < 1.0).double().mean()) < 0.98
    assert 0.64 < float((distance < 0.5).double().mean()) < 0.73
    assert 0.45 < float(transition[:, 1].mean()) < 0.55 and float(transition[:, 1].std()) > 0.27  # uniform: 0.289
    with pytest.raises(SettingError) as info:
        dataclasses.replace(plain, wall_fraction=0.5, transition_fraction=0.5)
    assert str(info.value).startswith("[pinn.points.wall_fraction] + edge_fraction + transition_fraction + "
                                      "end_fraction + adaptive_fraction must be at most 0.9 (a tenth of the points "
                                      "stays uniform")
    assert "; got 0.5 + 0 + 0.5 + 0 + 0.1 = 1.1 (" in str(info.value)


def test_end_points_span_the_height_near_both_reservoir_ends():
    """end_fraction = 0.4: 800 of 2000 points half-normal from x = 0 and from x = ℓ (spread 1/2,
    half at each end), y uniform, placed after the transition points and before the adaptive
    ones; the points before them are those drawn without end points; periodic ends: uniform."""
    wall = (ZetaSegment(0.0, 5.0, -2.0), ZetaSegment(5.0, 10.0, -0.4))
    problem = Problem(debye_ratio=0.1, length_ratio=10.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall,
                      ends="reservoir", zeta_transition=0.02)
    plain = PointSettings(n_interior=2000, wall_fraction=0.2, adaptive_fraction=0.1, adaptive_every=10)
    settings = dataclasses.replace(plain, wall_fraction=0.1, end_fraction=0.4)
    points = sample_collocation(problem, settings, torch.Generator().manual_seed(0))
    assert points.interior.shape == (2000, 2) and points.n_uniform == 800
    ends = points.interior[1000:1800]  # after the uniform (800) and band (200) points, before the adaptive (200)
    distance = torch.minimum(ends[:, 0], 10.0 - ends[:, 0])
    # Half-normal with spread 1/2: 68.3 % within 1/2, 95.4 % within 1 (±3.5 % for 800 draws).
    assert 0.64 < float((distance < 0.5).double().mean()) < 0.73 and 0.93 < float((distance < 1.0).double().mean()) < 0.98
    assert 0.45 < float((ends[:, 0] < 5.0).double().mean()) < 0.55  # both ends
    assert 0.45 < float(ends[:, 1].mean()) < 0.55 and float(ends[:, 1].std()) > 0.27  # uniform: 0.289
    without = sample_collocation(problem, dataclasses.replace(settings, end_fraction=0.0, n_interior=1200,
                                                              wall_fraction=1 / 6, adaptive_fraction=1 / 6),
                                 torch.Generator().manual_seed(0))
    assert torch.equal(points.interior[:1000], without.interior[:1000])
    periodic = dataclasses.replace(problem, ends="periodic")
    spread = sample_collocation(periodic, settings, torch.Generator().manual_seed(0)).interior[1000:1800, 0]
    assert float((torch.minimum(spread, 10.0 - spread) < 1.0).double().mean()) < 0.3  # uniform: 0.2


def test_balance_sections_can_fall_about_the_change_of_wall_condition():
    """section_placement = "transitions": half the balance sections Gaussian about the ζ̂ step
    (spread 1/2), the other half one in each equal part of [0, ℓ]; "stratified" (the default)
    draws the sections as before, and a channel without a change of wall condition keeps them."""
    wall = (ZetaSegment(0.0, 5.0, -2.0), ZetaSegment(5.0, 10.0, -0.4))
    problem = Problem(debye_ratio=0.1, length_ratio=10.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall,
                      ends="reservoir", zeta_transition=0.02)
    stratified = PointSettings(n_interior=200, balance_sections=8)
    near = dataclasses.replace(stratified, section_placement="transitions")
    nodes = None
    distances, parts = [], []
    for seed in range(200):
        points = sample_collocation(problem, near, torch.Generator().manual_seed(seed))
        x = points.columns[:, 0].reshape(8, -1)
        assert bool((x == x[:, :1]).all())  # one x per section
        nodes = x.shape[1]
        parts.append(torch.floor(x[:4, 0] / 2.5))  # 4 stratified: one in each quarter of [0, 10]
        distances.append((x[4:, 0] - 5.0).abs())
        plain = sample_collocation(problem, stratified, torch.Generator().manual_seed(seed))
        stratified_nodes = plain.columns[:, 0].reshape(8, -1)[:, 0]
        assert torch.equal(torch.floor(stratified_nodes / 1.25), torch.arange(8, dtype=torch.float64))
    assert all(torch.equal(p, torch.arange(4, dtype=torch.float64)) for p in parts)
    distance = torch.cat(distances)  # 800 draws: 68.3 % within 1/2, 95.4 % within 1
    assert 0.63 < float((distance < 0.5).double().mean()) < 0.74
    assert 0.93 < float((distance < 1.0).double().mean()) < 0.98
    assert points.column_weights.shape == (8 * nodes,)
    straight = straight_problem(0.1, 1.0, 1.0, length_ratio=10.0, ends="reservoir")
    same = [sample_collocation(straight, s, torch.Generator().manual_seed(3)).columns for s in (stratified, near)]
    assert torch.equal(same[0], same[1])
    with pytest.raises(SettingError, match=r"\[pinn.points.section_placement\] must be one of 'stratified', 'transitions', 'ends'; got 'near'"):
        PointSettings(section_placement="near")


def test_balance_sections_can_include_the_reservoir_ends():
    """section_placement = "ends": with reservoir ends two of the n sections are the end
    cross-sections x = 0 and x = ℓ exactly (every draw), the other n − 2 one in each equal part of
    [0, ℓ]; periodic ends keep the stratified sections of the default."""
    wall = (ZetaSegment(0.0, 5.0, -2.0), ZetaSegment(5.0, 10.0, -0.4))
    problem = Problem(debye_ratio=0.1, length_ratio=10.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall,
                      ends="reservoir", zeta_transition=0.02)
    stratified = PointSettings(n_interior=200, balance_sections=8)
    ends = dataclasses.replace(stratified, section_placement="ends")
    for seed in range(20):
        x = sample_collocation(problem, ends, torch.Generator().manual_seed(seed)).columns[:, 0].reshape(8, -1)
        assert bool((x == x[:, :1]).all())  # one x per section
        assert x[6:, 0].tolist() == [0.0, 10.0]
        assert torch.equal(torch.floor(x[:6, 0] / (10.0 / 6)), torch.arange(6, dtype=torch.float64))
    periodic = dataclasses.replace(problem, ends="periodic")
    same = [sample_collocation(periodic, s, torch.Generator().manual_seed(3)).columns for s in (stratified, ends)]
    assert torch.equal(same[0], same[1])


def test_the_output_grid_of_a_zeta_step_is_the_fd_grid_clustered_at_the_step():
    """eval_nx = 0 (auto): a channel whose walls change along x writes its fields on the x nodes of
    its FD grid (clustered at the step: spacing ~ the transition width there, not 2ε); a straight
    channel on 50 uniform nodes; a number gives that many uniform nodes."""
    from eofpinn.cases import load_case
    from eofpinn.solvers.fd.grid import StaggeredGrid
    from eofpinn.solvers.pinn.evaluation import eval_grid

    case = load_case("zeta_step")
    records = case.pinn.records
    assert records.eval_nx == 0
    x, y = eval_grid(case.problem, records, case.fd)
    fd = StaggeredGrid.build(case.problem, case.fd.nx, case.fd.ny, case.fd.wall_stretch, case.fd.edge_stretch)
    assert np.array_equal(x, fd.x_nodes) and x.size == 65 and y.size == 200
    step = np.argmin(np.abs(x - 5.0))
    assert x[step] == pytest.approx(5.0, abs=1e-12) and np.diff(x)[step] < 0.02 < 0.2 < np.diff(x).max()
    assert np.array_equal(eval_grid(case.problem, records)[0], np.linspace(0.0, case.problem.length_ratio, 50))  # no [fd]: uniform
    straight = load_case("straight_channel")
    assert np.array_equal(eval_grid(straight.problem, records, straight.fd)[0],
                          np.linspace(0.0, straight.problem.length_ratio, 50))
    given = dataclasses.replace(records, eval_nx=33)
    assert np.array_equal(eval_grid(case.problem, given, case.fd)[0], np.linspace(0.0, case.problem.length_ratio, 33))
    with pytest.raises(SettingError, match=r"\[pinn.records.eval_nx\] must be an integer in \[2, 100000\], or 0 "):
        dataclasses.replace(records, eval_nx=1)


def test_a_small_nonzero_reference_keeps_its_own_norm_as_validate_does():
    """v of a patterned channel is ~10× below u but not zero: its error is relative to ‖v_ref‖, in
    training histories (Evaluator) and in `eofpinn validate` (field_errors) alike."""
    problem = straight_problem(0.1, 1.0, 1.0)
    x, y = np.linspace(0.0, 1.0, 9), np.linspace(0.0, 1.0, 17)
    X, Y = np.meshgrid(x, y, indexing="ij")
    fields = {name: np.cos(X + k) * (1 + Y) for k, name in enumerate(FIELD_NAMES)}
    fields["u"] = 1.0 + 0 * X
    fields["v"] = 0.05 * np.sin(np.pi * Y) * np.cos(2 * np.pi * X)
    case = case_from_problem(problem)
    reference = Solution(case=case, x=x, y=y, fields=fields, solver="fd")
    perturbed = {name: f * 1.02 for name, f in fields.items()}
    evaluator = Evaluator(problem, reference, RecordSettings(), torch.device("cpu"), torch.float64)
    got = dict(zip(Evaluator.keys(), relative_l2({n: torch.as_tensor(f.ravel()) for n, f in perturbed.items()},
                                                 evaluator.reference, evaluator.denominators,
                                                 evaluator.weights).tolist()))
    validated = field_errors(Solution(case=case, x=x, y=y, fields=perturbed, solver="pinn"), reference)
    for name in FIELD_NAMES:
        assert got[name] == pytest.approx(0.02, rel=1e-9), name
        assert validated[name]["relative_l2"] == pytest.approx(got[name], rel=1e-9), name


def test_the_output_grid_resolves_the_double_layers_the_observables_differentiate():
    """The y nodes of a PINN solution are clustered at the walls like FD's cells, so the wall
    charge and conductance that observables take from the written fields are the solution's: the
    exact cacl2_channel sampled on them gives both within 1e-3 (measured 3.5e-5 and 2.9e-4); on 200
    uniform nodes it gave a wall charge 3.2 % low and a conductance 0.6 % high."""
    from eofpinn import solve
    from eofpinn.cases import load_case
    from eofpinn.physics.exact import exact_fields
    from eofpinn.physics.observables import observables
    from eofpinn.solution import Solution
    from eofpinn.solvers.fd.grid import wall_clustered_faces
    from eofpinn.solvers.pinn.evaluation import eval_grid

    case = load_case("cacl2_channel")
    x, y = eval_grid(case.problem, case.pinn.records, case.fd)
    assert y.size == case.pinn.records.eval_ny and np.array_equal(y, wall_clustered_faces(y.size - 1, 3.0))
    assert y[1] < 2e-4 and np.diff(y).max() > 0.015  # fine at the walls, coarse at the centre
    assert np.array_equal(eval_grid(case.problem, case.pinn.records)[1], np.linspace(0.0, 1.0, y.size))  # no [fd]
    exact = observables(solve(case, "exact"))
    X, Y = np.meshgrid(x, y, indexing="ij")
    fields = exact_fields(case.problem, X, Y)
    sampled = observables(Solution(case=case, x=x, y=y, fields={k: fields[k] for k in FIELD_NAMES}, solver="pinn"))
    for key in ("conductance_per_depth_S_m", "flow_rate_per_depth_m2_s"):
        assert sampled[key] == pytest.approx(exact[key], rel=1e-3), key
    assert sampled["wall_charge_C_m2"]["bottom"] == pytest.approx(exact["wall_charge_C_m2"]["bottom"], rel=1e-3)


def test_a_straight_channel_records_its_errors_on_the_grid_validate_reads():
    """The errors a straight channel's run records while training are taken on the y nodes its
    fields are written on (clustered at the walls by the case's [fd]), so the last history row and
    `eofpinn validate` of the written fields give the same numbers. On cases/thin_edl.toml
    (ε = 0.02), with every parameter of the model moved by 1e-2 (seeded), p's error on 200
    uniform y nodes is 4 % lower (0.164 for 0.171)."""
    from eofpinn.cases import load_case
    from eofpinn.cases.pinn_settings import replace
    from eofpinn.solvers.pinn.channel import ChannelTask
    from eofpinn.solvers.pinn.evaluation import eval_grid
    from eofpinn.solvers.pinn.trainer import Trainer
    from eofpinn.validation.report import exact_reference

    case = load_case("thin_edl")
    settings = replace(case.pinn, {"dtype": "float64", "compile": False})
    task = ChannelTask(case, settings)
    model = Trainer(task, settings).model
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1e-2 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    cpu, dtype = torch.device("cpu"), torch.float64
    evaluator = task.evaluator(cpu, dtype)
    recorded = evaluator(model)
    solution = task.solution(model, cpu, dtype, {})
    validated = field_errors(solution, exact_reference(solution))
    for name in (*FIELD_NAMES, "mean"):
        key = "paper_mean" if name == "mean" else name
        assert recorded[name] == pytest.approx(validated[key]["relative_l2"], rel=1e-9), name
    assert recorded["p"] == pytest.approx(0.171, rel=0.05)
    uniform = Evaluator(case.problem, None, settings.records, cpu, dtype).errors(model)
    assert uniform["p"] / recorded["p"] < 0.98
    assert np.array_equal(np.unique(evaluator.__self__.points[:, 1].numpy()),
                          eval_grid(case.problem, settings.records, case.fd)[1])
