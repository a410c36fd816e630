"""formulation.normal_velocity_envelope: v times E(x) = e + (1 − e) Σ sech((x − x_k)/w) about every
change of wall condition, with jets that equal autograd, periodic where the ends are."""

from __future__ import annotations

import math

import pytest
import torch

from eofpinn.cases import load_case
from eofpinn.cases.pinn_settings import FormulationSettings, SettingError, replace
from eofpinn.solvers.pinn.formulation import V_ENVELOPE_FLOOR, build_model, envelope_edges


def _model(case, changes):
    settings = replace(case.pinn, {"network.width": 16, "network.depth": 2, **changes})
    model = build_model(case.problem, settings, torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        for block in model.networks.blocks.values():
            block.layers[-1].weight.normal_(generator=torch.Generator().manual_seed(1))
    return model


def test_the_envelope_multiplies_v_alone_and_its_jets_equal_autograd():
    case = load_case("zeta_step")
    plain = _model(case, {"formulation.normal_velocity_envelope": 0.0})  # (the 2D recipe adds 0.5)
    enveloped = _model(case, {"formulation.normal_velocity_envelope": 0.5})
    g = torch.Generator().manual_seed(4)
    points = torch.stack((case.problem.length_ratio * torch.rand(40, generator=g, dtype=torch.float64),
                          torch.rand(40, generator=g, dtype=torch.float64)), dim=1)
    x = points[:, 0]
    step = case.problem.length_ratio / 2
    envelope = V_ENVELOPE_FLOOR + (1 - V_ENVELOPE_FLOOR) / torch.cosh((x - step) / 0.5)
    with torch.no_grad():
        a, b = plain(points), enveloped(points)
    for name in ("psi", "c_plus", "c_minus", "u", "P"):
        assert torch.equal(a[name], b[name]), name
    assert torch.allclose(b["v"][0], envelope * a["v"][0], rtol=1e-13, atol=0)
    # far from the step (4.9 away, ten widths) v keeps the floor's share of itself
    far = torch.tensor([[step - 4.9, 0.3]], dtype=torch.float64)
    with torch.no_grad():
        share = float(enveloped(far)["v"][0] / plain(far)["v"][0])
    assert share == pytest.approx(V_ENVELOPE_FLOOR + (1 - V_ENVELOPE_FLOOR) / math.cosh(9.8), rel=1e-12)
    assert share < 1.003 * V_ENVELOPE_FLOOR
    # the jet's rows against autograd of its value
    p = points.clone().requires_grad_(True)
    value = enveloped(p)["v"][0]
    first = torch.autograd.grad(value.sum(), p, create_graph=True)[0]
    second_x = torch.autograd.grad(first[:, 0].sum(), p, retain_graph=True)[0][:, 0]
    second_y = torch.autograd.grad(first[:, 1].sum(), p)[0][:, 1]
    jet = enveloped(points)["v"].detach()
    for row, reference in ((1, first[:, 0]), (2, first[:, 1]), (3, second_x), (4, second_y)):
        assert torch.allclose(jet[row], reference.detach(), rtol=0, atol=1e-10 * float(reference.detach().abs().max())), row


def test_the_floor_is_the_envelopes_share_of_v_far_from_every_change():
    """normal_velocity_floor e: E = e + (1 − e) sech((x − x_k)/w), so far from the step v keeps a
    share e of the block's v, and at the step all of it; e outside (0, 1] is refused."""
    case = load_case("zeta_step")
    plain = _model(case, {"formulation.normal_velocity_envelope": 0.0})
    floored = _model(case, {"formulation.normal_velocity_envelope": 0.5, "formulation.normal_velocity_floor": 0.01})
    step = case.problem.length_ratio / 2
    points = torch.tensor([[step - 4.9, 0.3], [step, 0.3]], dtype=torch.float64)
    with torch.no_grad():
        share = floored(points)["v"][0] / plain(points)["v"][0]
    assert float(share[0]) == pytest.approx(0.01 + 0.99 / math.cosh(9.8), rel=1e-12)
    assert float(share[1]) == pytest.approx(1.0, rel=1e-12)
    for bad in (0.0, 1.5):
        with pytest.raises(SettingError, match=r"formulation\.normal_velocity_floor"):
            replace(case.pinn, {"formulation.normal_velocity_floor": bad})


def test_the_envelope_is_periodic_on_a_periodic_pattern_and_absent_without_edges():
    case = load_case("patterned_zeta")
    ell, width = case.problem.length_ratio, 0.5
    edges = envelope_edges(case.problem, width)
    assert len(edges) > 4 and min(edges) < -32 * width + ell and max(edges) > 32 * width
    model = _model(case, {"formulation.normal_velocity_envelope": width})
    ends = torch.tensor([[0.0, 0.3], [ell, 0.3]], dtype=torch.float64)
    jet = model.formulation.v_envelope_jet(ends[:, 0])
    assert torch.allclose(jet[:, 0], jet[:, 1], rtol=0, atol=1e-13)
    straight = load_case("straight_channel")
    assert envelope_edges(straight.problem, width) == ()
    assert not _model(straight, {"formulation.normal_velocity_envelope": width}).formulation.v_edges


def test_the_envelope_is_refused_with_a_stream_function():
    with pytest.raises(SettingError, match="normal_velocity_envelope"):
        FormulationSettings(flow="stream", normal_velocity_envelope=0.5)
    with pytest.raises(SettingError, match=r"\[0, 100\]"):
        FormulationSettings(normal_velocity_envelope=-1.0)
    assert math.isclose(FormulationSettings().normal_velocity_envelope, 0.0)
