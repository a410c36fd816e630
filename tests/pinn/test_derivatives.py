"""Taylor-mode jets equal nested autograd (float64), and the jet algebra of the formulation
equals autograd of the composed fields."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eofpinn.cases import straight_problem
from eofpinn.cases.model import PINNSettings, Problem, ZetaSegment
from eofpinn.cases.pinn_settings import FormulationSettings, SettingError, replace
from eofpinn.solvers.pinn import derivatives as jets
from eofpinn.solvers.pinn.derivatives import autograd_jets
from eofpinn.solvers.pinn.formulation import FIELDS, Formulation, build_model
from eofpinn.solvers.pinn.networks import Embedding, FieldNetworks

def _points(n: int, length: float = 1.0, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack((length * torch.rand(n, generator=g, dtype=torch.float64),
                        torch.rand(n, generator=g, dtype=torch.float64)), dim=1)

@pytest.mark.parametrize("periodic", (True, False))
@pytest.mark.parametrize("fourier, wall_width", ((0, 0.0), (3, 0.1)))
def test_taylor_mode_matches_autograd(periodic, fourier, wall_width):
    g = torch.Generator().manual_seed(1)
    embedding = Embedding(2.0, periodic, fourier, 1.5, wall_width, g)
    torch.manual_seed(0)
    networks = FieldNetworks(embedding, width=20, depth=3).double()
    points = _points(64, 2.0)
    taylor = networks.raw_jets(points, "taylor")
    autograd = networks.raw_jets(points, "autograd")
    for name in taylor:
        assert taylor[name].shape == (5, 64, networks.blocks[name].layers[-1].out_features)
        assert torch.allclose(taylor[name], autograd[name], rtol=0, atol=1e-10), name

def test_held_blocks_reuse_their_jets_while_points_and_parameters_stay():
    """FieldNetworks.hold: a held block's jets are formed once and reused for the same points; new
    points, or an in-place change of its parameters (a loaded state), form them again; the jets
    are always those of a fresh pass, and an unknown block name is refused."""
    embedding = Embedding(2.0, False, 3, 1.5, 0.1, torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    networks = FieldNetworks(embedding, width=20, depth=3).double()
    points, other = _points(64, 2.0), _points(64, 2.0, seed=5)
    fresh, fresh_other = networks.raw_jets(points), networks.raw_jets(other)
    networks.hold(name for name in ("psi", "c_plus"))
    assert networks.held == {"psi", "c_plus"}
    first = networks.raw_jets(points.clone())
    again = networks.raw_jets(points.clone())
    for name in fresh:
        assert torch.equal(first[name], fresh[name]), name
        assert (again[name] is first[name]) == (name in networks.held), name
    assert torch.equal(networks.raw_jets(other)["psi"], fresh_other["psi"])
    with torch.no_grad():
        next(networks.blocks["psi"].parameters()).mul_(1.5)
    changed = networks.raw_jets(points)["psi"]
    assert not torch.equal(changed, first["psi"])
    networks.hold(())
    assert torch.equal(changed, networks.raw_jets(points)["psi"])
    with pytest.raises(ValueError, match=r"hold: no block named \['ions'\]; the blocks are \['psi', 'c_plus', "
                                         r"'c_minus', 'flow'\]"):
        networks.hold(("psi", "ions"))


def test_warped_blocks_have_taylor_jets_equal_to_autograd_and_no_y_slope_on_the_walls():
    """A block on the warped height w(y) = (1 − cos πy)/2: its Taylor jets (chain rule through w)
    equal nested autograd, and its ∂/∂y vanishes on both walls whatever its weights, pattern
    features included; the other blocks are those of the unwarped networks."""
    wall = (ZetaSegment(0.0, 1.0, -2.0), ZetaSegment(1.0, 2.0, -0.4))
    problem = Problem(debye_ratio=0.1, length_ratio=2.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall,
                      ends="reservoir", zeta_transition=0.02)
    g = torch.Generator().manual_seed(1)
    embedding = Embedding(2.0, False, 3, 1.5, 0.1, g, ((problem.wall_profile("bottom"), "bottom", None),
                                                       (problem.wall_profile("top"), "top", None)))
    torch.manual_seed(0)
    networks = FieldNetworks(embedding, width=20, depth=3, warped_blocks=("c_plus", "c_minus")).double()
    torch.manual_seed(0)
    plain = FieldNetworks(embedding, width=20, depth=3).double()
    points = _points(64, 2.0)
    taylor, autograd = networks.raw_jets(points, "taylor"), networks.raw_jets(points, "autograd")
    unwarped = plain.raw_jets(points, "taylor")
    for name in taylor:
        assert torch.allclose(taylor[name], autograd[name], rtol=0, atol=1e-10), name
        assert torch.equal(taylor[name], unwarped[name]) == (name not in networks.warped_blocks), name
    x = 2.0 * torch.rand(32, dtype=torch.float64)
    for y_wall in (0.0, 1.0):
        on_wall = networks.raw_jets(torch.stack((x, torch.full_like(x, y_wall)), dim=1), "taylor")
        for name in ("c_plus", "c_minus"):
            jet = on_wall[name].detach()
            assert float(jet[2].abs().max()) < 1e-12 and float(jet[4].abs().max()) > 1e-2
        assert float(on_wall["psi"][2].detach().abs().max()) > 1e-2


def test_exact_wall_flux_makes_the_ion_flux_through_no_flux_walls_zero_for_any_weights(small_settings):
    """formulation.wall_flux = "exact": a model with random weights has n·N± = 0 on both walls
    of a no-flux channel (its wall_ions term is gone; with "penalty" it is there and not zero);
    Boltzmann walls keep their hard wall values and unwarped ion blocks; the setting is refused
    where a zero ∂g±/∂y is not a zero flux."""
    from eofpinn.solvers.pinn.collocation import sample_collocation
    from eofpinn.solvers.pinn.losses import ion_fluxes_y, loss_terms

    problem = straight_problem(0.1, -2.0, 1.0, pressure_drop_hat=1.0, length_ratio=2.0, ends="reservoir")
    points = sample_collocation(problem, small_settings.points, torch.Generator().manual_seed(0))
    terms = {}
    for wall_flux in ("penalty", "exact"):
        settings = replace(small_settings, {"formulation.wall_flux": wall_flux, "network.output_gain": 1.0})
        model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
        terms[wall_flux] = loss_terms(problem, model, points)
        walls = model(torch.cat((points.bottom, points.top)))
        fluxes = torch.cat([f.detach() for f in ion_fluxes_y(problem, walls).values()])
        assert (float(fluxes.abs().max()) < 1e-12) == (wall_flux == "exact"), wall_flux
        assert model.networks.warped_blocks == (("c_plus", "c_minus") if wall_flux == "exact" else ())
    assert float(terms["penalty"]["wall_ions"].detach()) > 1e-4 and "wall_ions" not in terms["exact"]
    assert set(terms["penalty"]) - set(terms["exact"]) == {"wall_ions"}
    boltzmann = straight_problem(0.1, -2.0, 1.0, ends="reservoir", ion_wall="boltzmann")
    settings = replace(small_settings, {"formulation.wall_flux": "exact"})
    assert build_model(boltzmann, settings, torch.Generator().manual_seed(0)).networks.warped_blocks == ()
    with pytest.raises(SettingError, match=r'\[pinn.formulation.wall_flux\] must be "penalty", or "exact" with '
                                           r'concentrations = "slotboom" and hard_walls = true'):
        FormulationSettings(wall_flux="exact", concentrations="log")


def test_ion_residuals_over_the_ionic_strength_weigh_each_point_by_one_over_the_local_salt_squared(small_settings):
    """formulation.ion_residuals = "ionic_strength": np_plus and np_minus are the mean squares of
    the Nernst–Planck residuals divided by (c₊ + c₋)/2 at each point; every other term is as it
    was. Checked on a random model against the residuals computed directly."""
    from eofpinn.solvers.pinn.collocation import sample_collocation
    from eofpinn.solvers.pinn.losses import loss_terms, pde_residuals

    problem = straight_problem(0.1, -2.0, 1.0, length_ratio=2.0, ends="reservoir")
    points = sample_collocation(problem, small_settings.points, torch.Generator().manual_seed(0))
    terms = {}
    for mode in ("absolute", "ionic_strength"):
        settings = replace(small_settings, {"formulation.ion_residuals": mode, "network.output_gain": 1.0})
        model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
        terms[mode] = {k: float(v.detach()) for k, v in loss_terms(problem, model, points).items()}
    interior = model(points.interior)
    res = pde_residuals(problem, interior)
    salt = (0.5 * (interior["c_plus"][0] + interior["c_minus"][0])).detach()
    assert float(salt.max()) > 3.0  # the double layer of ζ̂ = −2: cosh 2 = 3.8 at the wall
    for name in ("np_plus", "np_minus"):
        r = res[name].detach()
        assert terms["absolute"][name] == pytest.approx(float(torch.mean(r**2)), rel=1e-12)
        assert terms["ionic_strength"][name] == pytest.approx(float(torch.mean((r / salt) ** 2)), rel=1e-12)
        assert terms["ionic_strength"][name] < 0.9 * terms["absolute"][name]
    others = set(terms["absolute"]) - {"np_plus", "np_minus"}
    assert others and all(terms["absolute"][k] == terms["ionic_strength"][k] for k in others)
    # formulation.poisson_residual = "ionic_strength": Poisson's term alike, and nothing else moves.
    settings = replace(small_settings, {"formulation.poisson_residual": "ionic_strength", "network.output_gain": 1.0})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    poisson = {k: float(v.detach()) for k, v in loss_terms(problem, model, points).items()}
    r = res["poisson"].detach()
    assert terms["absolute"]["poisson"] == pytest.approx(float(torch.mean(r**2)), rel=1e-12)
    assert poisson["poisson"] == pytest.approx(float(torch.mean((r / salt) ** 2)), rel=1e-12)
    assert poisson["poisson"] < 0.9 * terms["absolute"]["poisson"]
    assert all(poisson[k] == terms["absolute"][k] for k in set(terms["absolute"]) - {"poisson"})


def test_ion_flux_residuals_over_the_ionic_strength(small_settings):
    """With ion_flux = "stream", ion_residuals = "ionic_strength" divides each flux component's
    residual by (c₊ + c₋)/2 at the point: flux_plus and flux_minus are the mean squares of the two
    scaled components summed; every other term is as it was."""
    from eofpinn.solvers.pinn.collocation import sample_collocation
    from eofpinn.solvers.pinn.losses import loss_terms, pde_residuals

    problem = straight_problem(0.1, -2.0, 1.0, length_ratio=2.0, ends="reservoir")
    points = sample_collocation(problem, small_settings.points, torch.Generator().manual_seed(0))
    terms = {}
    for mode in ("absolute", "ionic_strength"):
        settings = replace(small_settings, {"formulation.ion_flux": "stream", "formulation.ion_residuals": mode,
                                            "network.output_gain": 1.0})
        model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
        terms[mode] = {k: float(v.detach()) for k, v in loss_terms(problem, model, points).items()}
    interior = model(points.interior)
    res = pde_residuals(problem, interior)
    salt = (0.5 * (interior["c_plus"][0] + interior["c_minus"][0])).detach()
    assert float(salt.max()) > 3.0
    for name in ("plus", "minus"):
        parts = [res[f"flux_{name}_{axis}"].detach() for axis in "xy"]
        assert terms["absolute"][f"flux_{name}"] == pytest.approx(sum(float(torch.mean(r**2)) for r in parts),
                                                                   rel=1e-12)
        scaled = sum(float(torch.mean((r / salt) ** 2)) for r in parts)
        assert terms["ionic_strength"][f"flux_{name}"] == pytest.approx(scaled, rel=1e-12)
        assert terms["ionic_strength"][f"flux_{name}"] < 0.9 * terms["absolute"][f"flux_{name}"]
    others = set(terms["absolute"]) - {"flux_plus", "flux_minus"}
    assert others and all(terms["absolute"][k] == terms["ionic_strength"][k] for k in others)


def test_autograd_jets_of_a_known_function():
    points = _points(50).requires_grad_(True)
    x, y = points[:, 0], points[:, 1]
    out = torch.stack((torch.sin(3 * x) * torch.exp(y), x**2 * y**3), dim=1)
    jet = autograd_jets(out, points).detach()
    x, y = x.detach(), y.detach()
    expected = torch.stack((
        torch.stack((torch.sin(3 * x) * torch.exp(y), 3 * torch.cos(3 * x) * torch.exp(y), torch.sin(3 * x) * torch.exp(y),
                     -9 * torch.sin(3 * x) * torch.exp(y), torch.sin(3 * x) * torch.exp(y))),
        torch.stack((x**2 * y**3, 2 * x * y**3, 3 * x**2 * y**2, 2 * y**3, 6 * x**2 * y)),
    ), dim=-1)
    assert torch.allclose(jet, expected, atol=1e-12)

def test_periodic_embedding_is_exactly_periodic():
    g = torch.Generator().manual_seed(1)
    embedding = Embedding(3.0, True, 4, 2.0, 0.1, g)
    y = torch.rand(20, dtype=torch.float64)
    left = embedding.taylor(torch.stack((torch.zeros_like(y), y), dim=1))
    right = embedding.taylor(torch.stack((torch.full_like(y, 3.0), y), dim=1))
    assert torch.allclose(left, right, atol=1e-12)

def test_model_with_patterned_periodic_walls_is_exactly_periodic():
    # Pattern features and double-layer bases continue ζ̂(x) into the channel with an edge width
    # growing to w + 1 at the far wall: their periodic images must reach far enough (walls.py
    # `_edges`). With three images only, ζ̂ continued to the far wall jumped by 0.04 at the seam
    # x = 0 ≡ ℓ of cases/patterned_zeta.toml, and here every field's jet differs there by 1e-3 or more.
    problem = _patterned("no_flux", "periodic")
    settings = replace(PINNSettings(), {"network.width": 12, "network.depth": 2, "network.pattern_features": True,
                                        "formulation.psi_base": "gouy_chapman",
                                        "formulation.flow_base": "electroosmotic"})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        for layer in (block.layers[-1] for block in model.networks.blocks.values()):
            layer.weight.normal_(generator=torch.Generator().manual_seed(2))  # networks that do something
    y = torch.linspace(0.0, 1.0, 41, dtype=torch.float64)
    left = model(torch.stack((torch.zeros_like(y), y), dim=1))
    right = model(torch.stack((torch.full_like(y, problem.length_ratio), y), dim=1))
    right["P"][0] += problem.pressure_drop_hat  # P = Δp̂ (1 − x/ℓ) + …: periodic up to the imposed drop
    for name in FIELDS:
        assert torch.allclose(left[name], right[name], rtol=0, atol=1e-11), name


def _assert_jets_match_autograd(model, points: torch.Tensor) -> dict:
    """The model's field jets at points equal nested autograd of its field values; returns the jets."""
    fields = model(points)
    leaf = points.clone().requires_grad_(True)
    raw = {name: torch.cat((out.unsqueeze(0), out.new_zeros((4,) + out.shape)))
           for name, out in model.networks.raw_values(leaf).items()}
    values = model.formulation.fields(raw, leaf)
    for name in FIELDS:
        reference = autograd_jets(values[name][0].unsqueeze(1), leaf)[..., 0]
        assert torch.allclose(fields[name], reference, atol=1e-9, rtol=1e-9), name
    return fields


def test_layer_wide_pattern_features_and_a_plain_psi_block():
    """pattern_layer_features adds each patterned wall's ζ̂(x) once more, its edges max(w, ε) wide at
    the wall (ε + d into the channel); psi_layer_features = false keeps those features and the wall
    features e^{−y/ε} from the ψ block only. Jets still match autograd of the fields."""
    problem = _patterned("no_flux", "reservoir")  # w = 0.15 < ε = 0.2
    settings = replace(PINNSettings(), {"network.width": 12, "network.depth": 2, "network.wall_features": True,
                                        "network.pattern_layer_features": True,
                                        "network.psi_layer_features": False})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    embedding = model.networks.embedding
    # (x, y), two wall features, two pattern features, two layer-wide ones; ψ sees the first four plain.
    assert embedding.n_features == 8 and model.networks.plain_index.tolist() == [0, 1, 4, 5]
    assert [block.layers[0].weight.shape[1] for block in model.networks.blocks.values()] == [4, 8, 8, 8]
    x = torch.linspace(0.0, 1.5, 31, dtype=torch.float64)
    at_wall = embedding(torch.stack((x, torch.zeros_like(x)), dim=1))
    bottom = problem.wall_profile("bottom")
    # The bottom wall's one edge, ζ̂ 1.3 → −0.8 at x = 0.6, scaled to [−1, 1]: width w, and ε = 0.2.
    assert torch.allclose(at_wall[:, 4], -torch.tanh((x - 0.6) / bottom.width), atol=1e-12)
    assert torch.allclose(at_wall[:, 6], -torch.tanh((x - 0.6) / 0.2), atol=1e-12)
    with torch.no_grad():
        for layer in (block.layers[-1] for block in model.networks.blocks.values()):
            layer.weight.normal_(generator=torch.Generator().manual_seed(2))
    points = _points(40, 1.5)
    fields = _assert_jets_match_autograd(model, points)
    inputs = model.networks._block_inputs(embedding, points)
    assert torch.equal(inputs["psi"], embedding(points)[:, [0, 1, 4, 5]])
    assert torch.equal(inputs["c_plus"], embedding(points))


def test_jet_algebra_product_and_exp():
    points = _points(30).requires_grad_(True)
    x, y = points[:, 0], points[:, 1]
    a_val, b_val = torch.sin(x + 2 * y), x * y**2
    a = autograd_jets(a_val.unsqueeze(1), points)[..., 0]
    b = autograd_jets(b_val.unsqueeze(1), points)[..., 0]
    prod = autograd_jets((a_val * b_val).unsqueeze(1), points)[..., 0]
    expo = autograd_jets(torch.exp(a_val).unsqueeze(1), points)[..., 0]
    assert torch.allclose(jets.product(a, b), prod, atol=1e-12)
    assert torch.allclose(jets.exponential(a), expo, atol=1e-12)

def _patterned(ion_wall: str, ends: str) -> Problem:
    """Walls with two patches each, ζ̂ changing over a transition width 0.15 (x-dependent bases)."""
    bottom = (ZetaSegment(0.0, 0.6, 1.3), ZetaSegment(0.6, 1.5, -0.8))
    top = (ZetaSegment(0.0, 0.9, -0.4), ZetaSegment(0.9, 1.5, 1.1))
    return Problem(debye_ratio=0.2, length_ratio=1.5, field_hat=1.0, zeta_bottom=bottom, zeta_top=top,
                   pressure_drop_hat=0.7, ion_wall=ion_wall, ends=ends, zeta_transition=0.15)


@pytest.mark.parametrize("hard_walls, psi_base, flow_base", ((True, "linear", "none"), (True, "gouy_chapman", "none"),
                                                             (True, "gouy_chapman", "electroosmotic"),
                                                             (False, "linear", "none")))
@pytest.mark.parametrize("concentrations", ("slotboom", "log", "direct"))
@pytest.mark.parametrize("pressure", ("excess", "total"))
@pytest.mark.parametrize("ion_wall", ("no_flux", "boltzmann"))
@pytest.mark.parametrize("walls", ("uniform", "patterned_periodic", "patterned_reservoir"))
def test_formulation_jets_match_autograd_of_fields(hard_walls, psi_base, flow_base, concentrations, pressure,
                                                   ion_wall, walls):
    if walls == "uniform":
        problem = straight_problem(0.2, 1.3, 1.0, length_ratio=1.5, pressure_drop_hat=0.7, ion_wall=ion_wall)
    else:
        problem = _patterned(ion_wall, walls.split("_")[1])
    settings = replace(PINNSettings(), {
        "formulation.hard_walls": hard_walls, "formulation.psi_base": psi_base, "formulation.flow_base": flow_base,
        "formulation.concentrations": concentrations, "formulation.pressure": pressure,
        "formulation.pressure_scale": 3.0, "network.width": 12, "network.depth": 2, "network.wall_features": True,
        "network.pattern_features": True})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    points = _points(40, 1.5)
    fields = _assert_jets_match_autograd(model, points)
    assert all(bool(torch.isfinite(f).all()) for f in fields.values())


def test_parameter_gradients_agree_between_taylor_and_autograd(quick_problem):
    from eofpinn.solvers.pinn.collocation import sample_collocation
    from eofpinn.solvers.pinn.losses import loss_terms

    settings = replace(PINNSettings(), {"network.width": 12, "network.depth": 2, "points.n_interior": 60,
                                        "points.n_boundary": 20})
    model = build_model(quick_problem, settings, torch.Generator().manual_seed(0)).double()
    points = sample_collocation(quick_problem, settings.points, torch.Generator().manual_seed(1))
    grads = {}
    for mode in ("taylor", "autograd"):
        model.derivatives = mode
        total = sum(loss_terms(quick_problem, model, points).values())
        grads[mode] = torch.autograd.grad(total, list(model.parameters()))
    for a, b in zip(grads["taylor"], grads["autograd"]):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-10)


def test_gouy_chapman_base_is_exact_on_walls_and_close_to_poisson_boltzmann():
    from eofpinn.physics.exact import poisson_boltzmann

    y = torch.linspace(0.0, 1.0, 201, dtype=torch.float64)
    one, zero = torch.ones_like(y), torch.zeros_like(y)
    for eps, zb, zt in ((0.2, 1.0, 1.0), (0.05, 3.0, -1.0)):
        bottom, top = jets.jet_of_x(zb * one, zero, zero), jets.jet_of_x(zt * one, zero, zero)
        base = jets.gouy_chapman_jet(y, (bottom, bottom), (top, top), eps)
        assert float(base[0, 0]) == pytest.approx(zb, abs=1e-14)
        assert float(base[0, -1]) == pytest.approx(zt, abs=1e-14)
        exact = torch.from_numpy(poisson_boltzmann(y.numpy(), eps, zb, zt)[0])
        # The superposition of two single-wall layers is the thin-layer approximation.
        assert float((base[0] - exact).abs().max()) < (1e-2 if eps == 0.2 else 1e-6)  # measured 5e-3, 4e-9
    # Walls whose ζ̂ varies along x: still exactly ζ̂(x) on both walls.
    problem = _patterned("no_flux", "periodic")
    form = Formulation.build(problem, FormulationSettings(psi_base="gouy_chapman"))
    x = torch.linspace(0.0, problem.length_ratio, 301, dtype=torch.float64)
    for y_wall, wall in ((0.0, "bottom"), (1.0, "top")):
        base = form.psi_wall_jet(torch.stack((x, torch.full_like(x, y_wall)), dim=1))
        assert torch.allclose(base[0], torch.from_numpy(problem.zeta_wall(wall, x.numpy())), rtol=0, atol=1e-14)


@pytest.mark.parametrize("valences", [(2.0, -1.0), (1.0, -2.0)])
def test_gouy_chapman_base_of_a_2_1_salt_is_its_poisson_boltzmann_layer(valences):
    """The base of a 2:1 or 1:2 salt (exact.gouy_chapman's closed form): ζ̂ on both walls, the
    salt's Poisson–Boltzmann profile of a thin channel to 1e-12 (measured 4e-14; the z:z layer
    misses it by 0.16 or more), and jets equal to autograd's when ζ̂ varies along the wall."""
    _assert_the_thin_channel_profile(valences, (-2.4, 3.0, -6.0), wall_tolerance=1e-13, z_z_gap=0.1)
    # ζ̂(x) = −2.4 + 0.8 sin x on both walls: every row against nested autograd.
    x = torch.linspace(0.1, 3.0, 40, dtype=torch.float64, requires_grad=True)
    h = torch.linspace(0.0, 1.0, 40, dtype=torch.float64, requires_grad=True)
    eps = 0.1
    zeta_jet = jets.jet_of_x(-2.4 + 0.8 * torch.sin(x.detach()), 0.8 * torch.cos(x.detach()), -0.8 * torch.sin(x.detach()))
    base = jets.gouy_chapman_jet(h.detach(), (zeta_jet, zeta_jet), (zeta_jet, zeta_jet), eps, valences)

    def layer(zeta, distance):
        sign = 1.0 if valences == (2.0, -1.0) else -1.0
        s0 = torch.sqrt((2.0 * torch.exp(sign * zeta) + 1.0) / 3.0)
        q = (s0 - 1.0) / (s0 + 1.0) * torch.exp(-distance / eps)
        return sign * (torch.log1p(q * (4.0 + q)) - 2.0 * torch.log1p(-q))

    zeta = -2.4 + 0.8 * torch.sin(x)
    value = sum(layer(zeta, d) - layer(zeta, torch.ones_like(d)) * d for d in (h, 1.0 - h))
    d_dx, d_dy = torch.autograd.grad(value.sum(), (x, h), create_graph=True)
    (d2_dx2,) = torch.autograd.grad(d_dx.sum(), x, retain_graph=True)
    (d2_dy2,) = torch.autograd.grad(d_dy.sum(), h)
    reference = torch.stack((value, d_dx, d_dy, d2_dx2, d2_dy2)).detach()
    assert torch.allclose(base, reference, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("valences", [(3.0, -1.0), (1.0, -3.0)])
def test_gouy_chapman_base_of_a_salt_without_a_closed_form_is_its_poisson_boltzmann_layer(valences):
    """A 3:1 or 1:3 salt takes its layer found numerically (physics/salt_layer.py): ζ̂ on both
    walls, the salt's Poisson–Boltzmann profile of a thin channel to 1e-12 (measured 1.6e-13; the
    z:z layer it took before misses it by 0.2 or more)."""
    _assert_the_thin_channel_profile(valences, (-2.4, 3.0), wall_tolerance=1e-14, z_z_gap=0.2)


def _assert_the_thin_channel_profile(valences, zetas, wall_tolerance, z_z_gap):
    """The two-wall base of a salt at ε = 0.03: ζ̂ on both walls, the salt's Poisson–Boltzmann
    profile to 1e-12, and more than `z_z_gap` from the z:z layer's."""
    from eofpinn.physics.exact import poisson_boltzmann

    y = torch.linspace(0.0, 1.0, 201, dtype=torch.float64)
    one, zero = torch.ones_like(y), torch.zeros_like(y)
    for zeta in zetas:
        wall = jets.jet_of_x(zeta * one, zero, zero)
        base = jets.gouy_chapman_jet(y, (wall, wall), (wall, wall), 0.03, valences)
        assert float(base[0, 0]) == pytest.approx(zeta, abs=wall_tolerance)
        assert float(base[0, -1]) == pytest.approx(zeta, abs=wall_tolerance)
        exact = torch.from_numpy(poisson_boltzmann(y.numpy(), 0.03, zeta, valences=valences)[0])
        assert float((base[0] - exact).abs().max()) < 1e-12
        symmetric = jets.gouy_chapman_jet(y, (wall, wall), (wall, wall), 0.03)
        assert float((symmetric[0] - exact).abs().max()) > z_z_gap


@pytest.mark.parametrize("valences", [(2.0, -1.0), (1.0, -1.0)])
def test_the_numerical_layer_jet_is_the_closed_one_where_there_is_one(valences):
    """Every row of the two-wall base built from numerical_layer_jet equals the closed-form one to
    1e-11 relative, with ζ̂ varying along x and (as the walls' pattern edges spread) along y."""
    x, h, eps = torch.linspace(0.1, 3.0, 40, dtype=torch.float64), torch.linspace(0.0, 1.0, 40, dtype=torch.float64), 0.1
    zeta = jets.jet_of_x(-2.4 + 0.8 * torch.sin(x), 0.8 * torch.cos(x), -0.8 * torch.sin(x)) + \
        jets.jet_of_y(0.1 * h**2, 0.2 * h, torch.full_like(h, 0.2))
    closed = jets.gouy_chapman_jet(h, (zeta, zeta), (zeta, zeta), eps, valences)
    numerical = torch.zeros_like(closed)
    for distance, orientation in ((h, 1.0), (1.0 - h, -1.0)):
        scaled = jets.jet_of_y(distance / eps, torch.full_like(h, orientation / eps), torch.zeros_like(h))
        far = jets.numerical_layer_jet(zeta, jets.constant_jet(1.0 / eps, zeta), valences)
        numerical += jets.numerical_layer_jet(zeta, scaled, valences) - jets.product(
            far, jets.jet_of_y(distance, torch.full_like(h, orientation), torch.zeros_like(h)))
    for row in range(5):
        assert float((numerical[row] - closed[row]).abs().max()) < 1e-11 * float(closed[row].abs().max()), row


def _mlp_jets_one_tensor(layers, jet):
    """mlp_jets written with one concatenated (1 + 2d, N, W) jet per layer (eofpinn ≤ 0.1)."""
    *hidden, (weight, bias) = layers
    for w, b in hidden:
        value, rows = torch.addmm(b, jet[0], w.T), jet[1:] @ w.T
        d = rows.shape[0] // 2
        a = torch.tanh(value)
        slope = 1.0 - a * a
        jet = torch.cat((a.unsqueeze(0), slope * rows[:d], torch.addcmul(slope * rows[d:], -2.0 * a * slope, rows[:d] ** 2)))
    return torch.cat(((jet[0] @ weight.T + bias).unsqueeze(0), jet[1:] @ weight.T))


@pytest.mark.parametrize("dtype", (torch.float32, torch.float64))
@pytest.mark.parametrize("d", (1, 2))
def test_mlp_jets_with_split_row_groups_match_one_concatenated_jet(dtype, d):
    """The row groups are separate tensors inside mlp_jets (no concatenation per layer): same
    jets and same parameter gradients as the one-tensor form, to rounding."""
    from eofpinn.solvers.pinn.networks import MLP, mlp_jets

    torch.manual_seed(3)
    mlp = MLP(3, 24, 3, 2).to(dtype)
    jet = torch.randn(1 + 2 * d, 50, 3, dtype=dtype)
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-13}
    split, joined = mlp_jets(mlp.weights_and_biases, jet), _mlp_jets_one_tensor(mlp.weights_and_biases, jet)
    torch.testing.assert_close(split, joined, **tolerance)
    params = list(mlp.parameters())
    weights = torch.randn_like(split)
    for got, want in zip(torch.autograd.grad((weights * split).sum(), params),
                         torch.autograd.grad((weights * joined).sum(), params)):
        torch.testing.assert_close(got, want, **tolerance)


def _central(model, points: torch.Tensor, name: str, axis: int, h: float = 1e-5) -> torch.Tensor:
    """∂(field `name`)/∂(x or y) of the evaluated values by central differences (float64)."""
    step = torch.zeros(2, dtype=torch.float64)
    step[axis] = h
    return (model.values(points + step)[name] - model.values(points - step)[name]) / (2.0 * h)


@pytest.mark.parametrize("ends", ("periodic", "reservoir"))
@pytest.mark.parametrize("flow_base", ("none", "electroosmotic"))
def test_stream_function_flow_is_divergence_free_no_slip_and_carries_one_volume_flux(ends, flow_base):
    """formulation.flow = "stream" on patterned walls with random weights: the evaluated u, v have
    zero divergence (central differences, while ∂u/∂x itself is not small), vanish on both walls,
    and carry the trainable Q through every cross-section; the jets the residuals read are the
    derivatives of the evaluated Ψ, ω, u and v; continuity's terms give way to the vorticity term."""
    from eofpinn.solvers.pinn.collocation import sample_collocation
    from eofpinn.solvers.pinn.losses import loss_terms

    problem = _patterned("no_flux", ends)
    settings = replace(PINNSettings(), {"formulation.flow": "stream", "formulation.flow_base": flow_base,
                                        "network.width": 12, "network.depth": 2, "network.output_gain": 1.0,
                                        "points.n_interior": 80, "points.n_boundary": 20,
                                        "points.balance_sections": 4, "points.section_terms": "both"})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    points = _points(40, 1.5, seed=3)
    fields = {name: jet.detach() for name, jet in model(points).items()}
    du_dx = _central(model, points, "u", 0)
    divergence = du_dx + _central(model, points, "v", 1)
    assert float(du_dx.abs().max()) > 1e-2 and float(divergence.abs().max()) < 1e-7
    for name, row, axis in (("stream", 1, 0), ("stream", 2, 1), ("vorticity", 1, 0), ("vorticity", 2, 1),
                            ("u", 2, 1), ("v", 1, 0)):
        assert torch.allclose(_central(model, points, name, axis), fields[name][row], atol=1e-7), (name, row)
    assert torch.allclose(fields["u"][0], fields["stream"][2]) and torch.allclose(fields["v"][0], -fields["stream"][1])
    # The Laplacian the Stokes residuals read (xx rows) is the curl of ω.
    assert torch.equal(fields["u"][3], -fields["vorticity"][2]) and torch.equal(fields["v"][3], fields["vorticity"][1])
    for row, axis in ((3, 0), (4, 1)):
        step = torch.zeros(2, dtype=torch.float64)
        step[axis] = 1e-4
        second = (model.values(points + step)["stream"] - 2.0 * model.values(points)["stream"]
                  + model.values(points - step)["stream"]) / 1e-8
        assert torch.allclose(second, fields["stream"][row], atol=1e-5), row
    x = torch.linspace(0.0, 1.5, 7, dtype=torch.float64)
    for y_wall in (0.0, 1.0):
        on_wall = model.values(torch.stack((x, torch.full_like(x, y_wall)), dim=1))
        assert float(on_wall["u"].abs().max()) < 1e-14 and float(on_wall["v"].abs().max()) < 1e-14
    nodes, weights = (torch.as_tensor(a, dtype=torch.float64) for a in np.polynomial.legendre.leggauss(200))
    y = 0.5 * (nodes + 1.0)
    fluxes = torch.stack([torch.sum(0.5 * weights * model.values(torch.stack((torch.full_like(y, float(xi)), y), dim=1))["u"])
                          for xi in x])
    flux = float(model.volume_flux.detach())
    assert abs(flux) > 1e-2 and float((fluxes - flux).abs().max()) < 1e-9 * abs(flux) + 1e-12
    terms = loss_terms(problem, model, sample_collocation(problem, settings.points, torch.Generator().manual_seed(1)))
    assert "vorticity" in terms and not {"continuity", "section_continuity", "spread_volume"} & set(terms)
    assert {"section_np_plus", "spread_plus", "stokes_x", "stokes_y"} <= set(terms)


@pytest.mark.parametrize("ion_flux", ("divergence", "stream"))
def test_stream_function_bases_are_the_exact_straight_channel_flow(ion_flux):
    """In a straight channel (ε = 0.04, ζ̂ = −2, Ê = 1, Δp̂ = 0.7) the stream-function bases alone
    (every block's output layer zero, Q and Q± at their starting values) are the exact u of
    physics.md §4 and leave every PDE residual at the level of the Gouy–Chapman base (the same as
    flow "velocity"): the ion stream functions' base χ_B± with the start Q± is the exact ion flux."""
    from eofpinn.physics.exact import exact_derivatives
    from eofpinn.solvers.pinn.losses import pde_residuals

    problem = straight_problem(0.04, -2.0, 1.0, pressure_drop_hat=0.7, length_ratio=2.0)
    points = _points(200, 2.0, seed=5)
    exact = exact_derivatives(problem, points[:, 0].numpy(), points[:, 1].numpy())
    for flow in ("velocity", "stream"):
        settings = replace(PINNSettings(), {"formulation.flow": flow, "formulation.ion_flux": ion_flux,
                                            "network.width": 12, "network.depth": 2})
        model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
        for block in model.networks.blocks.values():
            torch.nn.init.zeros_(block.layers[-1].weight)
        with torch.no_grad():
            fields = model(points)
            residuals = pde_residuals(problem, fields)
        assert float((fields["u"][0] - torch.as_tensor(exact["u"].f)).abs().max()) < 1e-9, flow
        assert max(float(r.abs().max()) for r in residuals.values()) < 1e-7, flow
        assert ("vorticity" in residuals) == (flow == "stream")
        assert ("flux_plus_x" in residuals) == (ion_flux == "stream")
        if ion_flux == "stream":
            assert float(fields["chi_plus"][2].abs().max()) > 1.0  # the base carries the double layers' flux


def test_stream_function_flow_is_refused_with_soft_walls_and_with_inertia():
    from eofpinn.cases import case_from_problem, with_settings
    from eofpinn.errors import CaseError

    with pytest.raises(SettingError, match=r'\[pinn.formulation.flow\] must be "velocity", or "stream" with '
                                           r'hard_walls = true \(no slip is built into the stream function\); '
                                           r"got 'stream'"):
        FormulationSettings(flow="stream", hard_walls=False)
    problem = straight_problem(0.1, -1.0, 1.0, inertia=True)
    with pytest.raises(SettingError, match=r'\[pinn.formulation.flow\] must be "velocity" with \[model\] inertia = true \(the stream function '
                                           r"form carries no mixed derivative, which \(u·∇\)u needs\); got 'stream'"):
        build_model(problem, replace(PINNSettings(), {"formulation.flow": "stream"}), torch.Generator().manual_seed(0))
    with pytest.raises(CaseError, match=r"^--set: \[pinn.formulation.flow\] must be \"velocity\" with \[model\] inertia"):
        with_settings(case_from_problem(problem), {"formulation.flow": "stream"})


@pytest.mark.parametrize("ends", ("periodic", "reservoir"))
@pytest.mark.parametrize("flow", ("velocity", "stream"))
def test_ion_stream_functions_are_zero_and_q_on_the_walls_and_their_residual_is_the_flux_less_the_curl(ends, flow):
    """formulation.ion_flux = "stream" on patterned no-flux walls with random weights: χ± is 0 on
    the bottom wall and Q± on the top (so the flux of curl χ± through every section is Q±, and
    none crosses a wall); the jets of χ± are the derivatives of its evaluated values; the flux
    residual is N± − curl χ± of the evaluated fields (central differences), and its divergence is
    minus the Nernst–Planck residual of the same fields (∇·curl χ = 0); np_± and section_np_±
    give way to flux_±, the ion-flux spreads stay."""
    from eofpinn.solvers.pinn.collocation import sample_collocation
    from eofpinn.solvers.pinn.losses import loss_terms, pde_residuals

    problem = _patterned("no_flux", ends)
    common = {"formulation.flow": flow, "network.width": 12, "network.depth": 2, "network.output_gain": 1.0,
              "points.n_interior": 80, "points.n_boundary": 20, "points.balance_sections": 4,
              "points.section_terms": "both"}
    model = build_model(problem, replace(PINNSettings(), {**common, "formulation.ion_flux": "stream"}),
                        torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        model.ion_fluxes.copy_(torch.tensor([0.37, -0.21], dtype=torch.float64))
    points = _points(40, 1.5, seed=3)
    fields = {name: jet.detach() for name, jet in model(points).items()}
    assert "chi_plus" not in model.values(points)  # evaluation forms no χ±

    def chi(at: torch.Tensor, name: str) -> torch.Tensor:
        return model(at)[name][0].detach()

    x = torch.linspace(0.0, 1.5, 7, dtype=torch.float64)
    h = 1e-5
    for name, flux in (("chi_plus", 0.37), ("chi_minus", -0.21)):
        for row, axis in ((1, 0), (2, 1)):
            step = torch.zeros(2, dtype=torch.float64)
            step[axis] = h
            central = (chi(points + step, name) - chi(points - step, name)) / (2.0 * h)
            assert torch.allclose(central, fields[name][row], atol=1e-8), (name, row)
        for y_wall, value in ((0.0, 0.0), (1.0, flux)):
            on_wall = chi(torch.stack((x, torch.full_like(x, y_wall)), dim=1), name)
            assert float((on_wall - value).abs().max()) < 1e-14, (name, y_wall)
    residuals = pde_residuals(problem, fields)
    assert "np_plus" not in residuals and "np_minus" not in residuals

    def flux_residual(at: torch.Tensor, name: str, sign: float, delta: float) -> tuple[torch.Tensor, torch.Tensor]:
        f = model.values(at)
        c = f[name]
        n_x = -delta * (_central(model, at, name, 0) + sign * c * (_central(model, at, "psi", 0) - problem.field_hat))
        n_y = -delta * (_central(model, at, name, 1) + sign * c * _central(model, at, "psi", 1))
        n_x, n_y = n_x + problem.peclet * f["u"] * c, n_y + problem.peclet * f["v"] * c
        jets_at = model(at)
        chi_jet = jets_at[f"chi_{name[2:]}"].detach()
        return n_x - chi_jet[2], n_y + chi_jet[1]

    for name, sign, delta in (("c_plus", 1.0, problem.delta_plus), ("c_minus", -1.0, problem.delta_minus)):
        r_x, r_y = flux_residual(points, name, sign, delta)
        assert float(r_x.abs().max()) > 1e-2
        assert torch.allclose(residuals[f"flux_{name[2:]}_x"], r_x, atol=1e-7)
        assert torch.allclose(residuals[f"flux_{name[2:]}_y"], r_y, atol=1e-7)
        # −∇·(N − curl χ) is the divergence-form residual of the same fields.
        h = 1e-4
        step_x, step_y = torch.tensor([h, 0.0], dtype=torch.float64), torch.tensor([0.0, h], dtype=torch.float64)
        divergence = ((flux_residual(points + step_x, name, sign, delta)[0]
                       - flux_residual(points - step_x, name, sign, delta)[0])
                      + (flux_residual(points + step_y, name, sign, delta)[1]
                         - flux_residual(points - step_y, name, sign, delta)[1])) / (2.0 * h)
        np_residual = pde_residuals(problem, {k: v for k, v in fields.items() if not k.startswith("chi")})[f"np_{name[2:]}"]
        assert float(np_residual.abs().max()) > 1e-1
        assert torch.allclose(-divergence, np_residual, atol=1e-4 * float(np_residual.abs().max()))
    sample = sample_collocation(problem, replace(PINNSettings(), common).points, torch.Generator().manual_seed(0))
    names = set(loss_terms(problem, model, sample))
    assert {"flux_plus", "flux_minus", "spread_plus", "spread_minus", "wall_ions"} <= names
    assert not names & {"np_plus", "np_minus", "section_np_plus", "section_np_minus"}
    assert "section_continuity" in names or flow == "stream"


def test_body_force_from_the_ion_fluxes_is_the_stokes_force_with_curl_chi_for_the_fluxes():
    """formulation.body_force = "ion_flux" on patterned no-flux walls, random weights: the Stokes
    residuals are ∇²u − ∇P − (1/(2ε²)) Σ± ((Pe u c± − curl χ±)/δ±) (each ion's ∇c± ± c±∇φ taken
    from its stream function), written out here from the jets; they differ from the "fields" form
    (by the flux residuals over 2ε² δ±), and every other residual is the same."""
    from eofpinn.solvers.pinn.losses import pde_residuals

    problem = _patterned("no_flux", "periodic")
    settings = replace(PINNSettings(), {"network.width": 12, "network.depth": 2, "network.output_gain": 1.0,
                                        "formulation.ion_flux": "stream", "formulation.body_force": "ion_flux"})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    assert model.formulation.flux_force
    jets = {name: jet.detach() for name, jet in model(_points(40, 1.5, seed=3)).items()}
    fields = pde_residuals(problem, jets)
    flux = pde_residuals(problem, jets, flux_force=True)
    u, v, pressure = jets["u"], jets["v"], jets["P"]
    force_x = force_y = 0.0
    for name, delta in (("c_plus", problem.delta_plus), ("c_minus", problem.delta_minus)):
        c, chi = jets[name][0], jets[f"chi_{name[2:]}"]
        force_x = force_x + (problem.peclet * u[0] * c - chi[2]) / delta
        force_y = force_y + (problem.peclet * v[0] * c + chi[1]) / delta
    scale = 1.0 / (2.0 * problem.debye_ratio**2)
    assert torch.allclose(flux["stokes_x"], u[3] + u[4] - pressure[1] - scale * force_x, rtol=1e-12, atol=1e-9)
    assert torch.allclose(flux["stokes_y"], v[3] + v[4] - pressure[2] - scale * force_y, rtol=1e-12, atol=1e-9)
    assert float((flux["stokes_x"] - fields["stokes_x"]).abs().max()) > 1e-1 * float(fields["stokes_x"].abs().max())
    for name in set(fields) - {"stokes_x", "stokes_y"}:
        assert torch.equal(flux[name], fields[name]), name
    with pytest.raises(SettingError, match=r'^\[pinn.formulation.body_force\] must be "fields", or "ion_flux" with '
                                           r'ion_flux = "stream" \(the force is taken from the ion stream functions\); '
                                           r"got 'ion_flux'$"):
        FormulationSettings(body_force="ion_flux")


def test_an_ion_scale_is_refused_with_direct_concentrations_and_out_of_range():
    with pytest.raises(SettingError, match=r'^\[pinn.formulation.ion_scale\] must be 1 with concentrations = "direct" '
                                           r'\(it scales the exponent of "slotboom" and "log" ions\); got 0\.05$'):
        FormulationSettings(concentrations="direct", ion_scale=0.05)
    with pytest.raises(SettingError, match=r"^\[pinn.formulation.ion_scale\] must be a number in \(0, 1000\]; got 0$"):
        FormulationSettings(ion_scale=0)


def test_ion_stream_functions_are_refused_with_boltzmann_walls():
    from eofpinn.cases import case_from_problem, with_settings
    from eofpinn.errors import CaseError

    problem = _patterned("boltzmann", "reservoir")
    message = (r'must be "divergence" with \[model\] ion_wall = "boltzmann" \(an ion stream function is constant '
               r"along a wall only where no ion crosses it\); got 'stream'$")
    with pytest.raises(SettingError, match=r"^\[pinn.formulation.ion_flux\] " + message):
        build_model(problem, replace(PINNSettings(), {"formulation.ion_flux": "stream"}), torch.Generator().manual_seed(0))
    with pytest.raises(CaseError, match=r"^--set: \[pinn.formulation.ion_flux\] " + message):
        with_settings(case_from_problem(problem), {"formulation.ion_flux": "stream"})


@pytest.mark.parametrize("normal_velocity", ("distance", "squared"))
def test_squared_normal_velocity_has_no_y_slope_on_the_walls_and_jets_equal_to_autograd(normal_velocity):
    """formulation.normal_velocity = "squared": v = U d² N_v, so on both walls v = 0 and ∂v/∂y = 0
    (continuity at a no-slip wall) whatever the weights; "distance" (v = U d N_v) leaves a slope
    there. The jets equal nested autograd of the composed field either way, on a patterned
    reservoir channel with pattern features."""
    problem = _patterned("no_flux", "reservoir")
    settings = replace(PINNSettings(), {"formulation.normal_velocity": normal_velocity, "network.width": 12,
                                        "network.depth": 2, "network.output_gain": 1.0})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    points = _points(40, 1.5)
    leaf = points.clone().requires_grad_(True)
    raw = {name: torch.cat((out.unsqueeze(0), out.new_zeros((4,) + out.shape)))
           for name, out in model.networks.raw_values(leaf).items()}
    reference = autograd_jets(model.formulation.fields(raw, leaf)["v"][0].unsqueeze(1), leaf)[..., 0]
    assert torch.allclose(model(points)["v"], reference, atol=1e-9, rtol=1e-9)
    x = 1.5 * torch.rand(32, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    slopes = []
    for y_wall in (0.0, 1.0):
        v = model(torch.stack((x, torch.full_like(x, y_wall)), dim=1))["v"].detach()
        assert float(v[0].abs().max()) < 1e-15
        slopes.append(float(v[2].abs().max()))
    interior = float(model(points)["v"][0].detach().abs().max())
    if normal_velocity == "squared":
        assert max(slopes) < 1e-13 and interior > 1e-3
    else:
        assert min(slopes) > 1e-2 * interior and interior > 1e-3


def test_squared_normal_velocity_is_refused_with_soft_walls_and_with_a_stream_function():
    for options in ({"hard_walls": False}, {"flow": "stream"}):
        with pytest.raises(SettingError, match=r'^\[pinn.formulation.normal_velocity\] must be "distance", or "squared" '
                                               r'with hard_walls = true and flow = "velocity"'):
            FormulationSettings(normal_velocity="squared", **options)
    with pytest.raises(SettingError, match=r'^\[pinn.formulation.normal_velocity\] must be one of'):
        FormulationSettings(normal_velocity="cubic")


def test_normal_velocity_scale_multiplies_v_and_its_jets_alone():
    """formulation.normal_velocity_scale = s: the same weights give s × v, value and every
    derivative, and the same u, P and ions; refused with a stream function and out of range."""
    problem = _patterned("no_flux", "reservoir")
    fields = {}
    for scale in (1.0, 0.1):
        settings = replace(PINNSettings(), {"formulation.normal_velocity_scale": scale, "network.width": 12,
                                            "network.depth": 2, "network.output_gain": 1.0})
        model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
        fields[scale] = {k: v.detach() for k, v in model(_points(40, 1.5)).items()}
    assert float(fields[1.0]["v"].abs().max()) > 1e-3
    assert torch.allclose(fields[0.1]["v"], 0.1 * fields[1.0]["v"], rtol=1e-13, atol=0.0)
    for name in ("psi", "c_plus", "c_minus", "u", "P"):
        assert torch.equal(fields[0.1][name], fields[1.0][name]), name
    with pytest.raises(SettingError, match=r'^\[pinn.formulation.normal_velocity_scale\] must be 1 with flow = "stream" '
                                           r"\(the stream function gives u and v together\); got 0.1$"):
        FormulationSettings(normal_velocity_scale=0.1, flow="stream")
    with pytest.raises(SettingError, match=r"^\[pinn.formulation.normal_velocity_scale\] must be a number in \(0, 1000\]"):
        FormulationSettings(normal_velocity_scale=0.0)
