"""formulation.symmetry = "mirror": where both walls are alike, the fields are even about the
centre line y = 1/2 (v odd) whatever the weights, their Taylor jets still equal nested autograd,
and the interior points lie in the lower half."""

from __future__ import annotations

import torch

from eofpinn.cases import load_case
from eofpinn.cases.pinn_settings import replace
from eofpinn.solvers.pinn.channel import ChannelTask
from eofpinn.solvers.pinn.collocation import sample_collocation
from eofpinn.solvers.pinn.formulation import build_model


MIRROR = {"formulation.symmetry": "mirror"}


def _model(case, changes=None):
    """zeta_step's model (the recipe, mirrored unless `changes` say otherwise) with O(1) random
    output layers (the recipe starts them at zero)."""
    settings = replace(case.pinn, {"network.width": 16, "network.depth": 2, **MIRROR, **(changes or {})})
    model = build_model(case.problem, settings, torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        for block in model.networks.blocks.values():
            block.layers[-1].weight.normal_(generator=torch.Generator().manual_seed(1))
    return model


def _points(n: int, length: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack((length * torch.rand(n, generator=g, dtype=torch.float64),
                        torch.rand(n, generator=g, dtype=torch.float64)), dim=1)


def test_the_symmetry_is_built_into_every_field_of_zeta_step():
    case = load_case("zeta_step")
    assert case.problem.mirror_symmetric
    model = _model(case)
    # x, the folded height 8f − 1, e^{−f/ε} and the bottom wall's two pattern features (8 unmirrored)
    assert model.networks.embedding.n_features == 5
    assert _model(case, {"formulation.symmetry": "none"}).networks.embedding.n_features == 8
    points = _points(64, case.problem.length_ratio)
    image = torch.stack((points[:, 0], 1.0 - points[:, 1]), dim=1)
    with torch.no_grad():
        here, there = model(points), model(image)
    for name, jet in here.items():
        parity = -1.0 if name == "v" else 1.0  # v odd, the rest even
        scale = float(jet[0].abs().max())
        assert scale > 1e-3, name
        for row, sign in zip(range(5), (1.0, 1.0, -1.0, 1.0, 1.0)):  # ∂/∂y flips sign in the image
            assert torch.allclose(jet[row], parity * sign * there[name][row], rtol=0, atol=1e-12 * max(scale, 1.0)), \
                (name, row)
    centre = torch.stack((points[:, 0], torch.full_like(points[:, 0], 0.5)), dim=1)
    assert float(model(centre)["v"][0].detach().abs().max()) < 1e-15


def test_mirrored_jets_equal_autograd_with_and_without_the_warped_ion_blocks():
    """The fold's chain rule, alone and composed with the warp of exact no-flux walls (whose
    ∂/∂y of the c± blocks still vanishes on both walls)."""
    case = load_case("zeta_step")
    for changes in ({}, {"formulation.wall_flux": "exact"}):
        networks = _model(case, changes).networks
        points = _points(48, case.problem.length_ratio, seed=2)
        taylor, autograd = networks.raw_jets(points, "taylor"), networks.raw_jets(points, "autograd")
        for name in taylor:
            assert torch.allclose(taylor[name], autograd[name], rtol=0, atol=1e-10), (changes, name)
    x = case.problem.length_ratio * torch.rand(16, dtype=torch.float64)
    for y_wall in (0.0, 1.0):
        on_wall = networks.raw_jets(torch.stack((x, torch.full_like(x, y_wall)), dim=1), "taylor")
        assert float(on_wall["c_plus"][2].detach().abs().max()) < 1e-12
        assert float(on_wall["psi"][2].detach().abs().max()) > 1e-2


def test_mirrored_interior_points_are_the_drawn_ones_reflected_into_the_lower_half():
    case = load_case("zeta_step")
    task = ChannelTask(case, replace(case.pinn, MIRROR))
    drawn = sample_collocation(case.problem, case.pinn.points, torch.Generator().manual_seed(3))
    mirrored = task.sample(torch.Generator().manual_seed(3))
    assert torch.equal(mirrored.interior[:, 0], drawn.interior[:, 0])
    assert torch.equal(mirrored.interior[:, 1], torch.minimum(drawn.interior[:, 1], 1.0 - drawn.interior[:, 1]))
    assert float(mirrored.interior[:, 1].max()) <= 0.5 and float(drawn.interior[:, 1].max()) > 0.9
    assert torch.equal(mirrored.top, drawn.top) and torch.equal(mirrored.columns, drawn.columns)
    unmirrored = ChannelTask(case, replace(case.pinn, {"formulation.symmetry": "none"}))  # (the 2D recipe adds "mirror")
    assert torch.equal(unmirrored.sample(torch.Generator().manual_seed(3)).interior, drawn.interior)


def test_mirrored_ion_stream_functions_carry_an_even_flux_and_no_flux_through_the_walls():
    """With ion_flux "stream" χ± − Q±/2 is odd about y = 1/2 (its ∂/∂y, the x-flux, even), and
    χ± is 0 on the bottom wall and Q± on the top, whatever the weights."""
    case = load_case("zeta_step")
    model = _model(case, {"formulation.ion_flux": "stream"})
    fluxes = model.ion_fluxes.detach()
    points = _points(64, case.problem.length_ratio, seed=4)
    image = torch.stack((points[:, 0], 1.0 - points[:, 1]), dim=1)
    x = points[:, 0]
    walls = [torch.stack((x, torch.full_like(x, y_wall)), dim=1) for y_wall in (0.0, 1.0)]
    with torch.no_grad():
        here, there = model(points), model(image)
        bottom, top = model(walls[0]), model(walls[1])
    for k, name in enumerate(("chi_plus", "chi_minus")):
        chi, chi_image = here[name], there[name]
        scale = float((chi[0] - fluxes[k] / 2).abs().max())
        assert scale > 1e-3, name
        assert torch.allclose(chi[0] + chi_image[0], fluxes[k].expand_as(chi[0]), rtol=0, atol=1e-12), name
        assert torch.allclose(chi[1], -chi_image[1], rtol=0, atol=1e-12), name  # ∂χ/∂x odd: N·e_y odd
        assert torch.allclose(chi[2], chi_image[2], rtol=0, atol=1e-12), name  # ∂χ/∂y even: N·e_x even
        assert float(bottom[name][0].abs().max()) < 1e-12, name
        assert torch.allclose(top[name][0], fluxes[k].expand_as(top[name][0]), rtol=0, atol=1e-12), name
    unmirrored = _model(case, {"formulation.ion_flux": "stream", "formulation.symmetry": "none"})
    with torch.no_grad():
        free, free_image = unmirrored(points)["chi_plus"], unmirrored(image)["chi_plus"]
        asymmetry = float((free[0] + free_image[0] - unmirrored.ion_fluxes[0]).abs().max())
    assert asymmetry > 1e-3  # not odd unless built so
