"""Tests of eofpinn.solvers.pinn.weighting: GN and LRA formulas on hand-computable toy losses,
per-term gradients only on update steps, and the gradient-conflict diagnostics.
"""

from __future__ import annotations

import math

import pytest
import torch

from eofpinn.solvers.pinn.weighting import (
    GradNormWeighting,
    LearningRateAnnealing,
    NoWeighting,
    gradient_alignment_score,
    make_weighting,
    pairwise_cosine,
    per_term_gradients,
    weighted_loss,
)


def _toy_terms(theta: torch.Tensor) -> list[torch.Tensor]:
    """L1 = 3 θ0² (∇ = (6θ0, 0)), L2 = θ1²/2 (∇ = (0, θ1)), L3 = (θ0 + θ1)² (∇ = 2(θ0+θ1)(1, 1))."""
    return [3.0 * theta[0] ** 2, 0.5 * theta[1] ** 2, (theta[0] + theta[1]) ** 2]


def _gn_estimate(norms: list[float]) -> list[float]:
    mean = sum(norms) / len(norms)
    return [mean / n for n in norms]


def _toy_gradients(t0: float, t1: float) -> list[torch.Tensor]:
    theta = torch.tensor([t0, t1], dtype=torch.float64, requires_grad=True)
    return per_term_gradients(_toy_terms(theta), [theta])


def test_per_term_gradients_match_hand_values() -> None:
    grads = _toy_gradients(1.0, 2.0)
    expected = [[6.0, 0.0], [0.0, 2.0], [6.0, 6.0]]
    for g, e in zip(grads, expected):
        assert torch.equal(g, torch.tensor(e, dtype=torch.float64))


def _gn_second_update(first: list[float]) -> list[float]:
    """GN weights after the update at θ = (2, −1), n = (12, 1, 2√2), from weights `first`."""
    return [0.9 * w + 0.1 * e for w, e in zip(first, _gn_estimate([12.0, 1.0, 2.0 * math.sqrt(2.0)]))]


def test_gn_weights_equal_closed_form_after_two_updates() -> None:
    gn = GradNormWeighting(3, update_every=10, dtype=torch.float64)
    # θ = (1, 2): n = (6, 2, 6√2).
    gn.update(_toy_gradients(1.0, 2.0))
    first = [0.9 + 0.1 * e for e in _gn_estimate([6.0, 2.0, 6.0 * math.sqrt(2.0)])]
    assert gn.weights.tolist() == pytest.approx(first, rel=1e-12, abs=1e-12)
    # θ = (2, −1): n = (12, 1, 2√2).
    gn.update(_toy_gradients(2.0, -1.0))
    second = _gn_second_update(first)
    assert gn.weights.tolist() == pytest.approx(second, rel=1e-12, abs=1e-12)


def test_gn_update_from_norms_equals_update_from_gradients() -> None:
    from_grads = GradNormWeighting(3, dtype=torch.float64)
    from_norms = GradNormWeighting(3, dtype=torch.float64)
    for point in ((1.0, 2.0), (2.0, -1.0)):
        grads = _toy_gradients(*point)
        from_grads.update(grads)
        from_norms.update_from_norms(torch.stack([g.norm() for g in grads]))
    assert torch.allclose(from_grads.weights, from_norms.weights, rtol=1e-15, atol=0.0)


def test_gn_init_from_first_estimate() -> None:
    gn = GradNormWeighting(3, init_from_first=True, dtype=torch.float64)
    gn.update(_toy_gradients(1.0, 2.0))
    first = _gn_estimate([6.0, 2.0, 6.0 * math.sqrt(2.0)])
    assert gn.weights.tolist() == pytest.approx(first, rel=1e-12, abs=1e-12)
    gn.update(_toy_gradients(2.0, -1.0))
    second = _gn_second_update(first)
    assert gn.weights.tolist() == pytest.approx(second, rel=1e-12, abs=1e-12)


def test_lra_weights_equal_closed_form() -> None:
    lra = LearningRateAnnealing(3, reference=0, dtype=torch.float64)
    # θ = (1, 2): max|∇L1| = 6; mean|∇L2| = 1, mean|∇L3| = 6.
    lra.update(_toy_gradients(1.0, 2.0))
    first = [1.0, 0.9 + 0.1 * 6.0, 0.9 + 0.1 * 1.0]
    assert lra.weights.tolist() == pytest.approx(first, rel=1e-12, abs=1e-12)
    # θ = (2, −1): max|∇L1| = 12; mean|∇L2| = 1/2, mean|∇L3| = 2.
    lra.update(_toy_gradients(2.0, -1.0))
    second = [1.0, 0.9 * first[1] + 0.1 * 24.0, 0.9 * first[2] + 0.1 * 6.0]
    assert lra.weights.tolist() == pytest.approx(second, rel=1e-12, abs=1e-12)


def test_lra_other_reference_keeps_its_weight() -> None:
    lra = LearningRateAnnealing(3, reference=2, dtype=torch.float64)
    lra.update(_toy_gradients(1.0, 2.0))  # max|∇L3| = 6; mean|∇L1| = 3, mean|∇L2| = 1
    assert lra.weights.tolist() == pytest.approx([0.9 + 0.2, 0.9 + 0.6, 1.0], rel=1e-12)


def test_per_term_gradients_only_on_update_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"grad": 0}
    real_grad = torch.autograd.grad

    def counting_grad(*args, **kwargs):
        calls["grad"] += 1
        return real_grad(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting_grad)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).double()
    x = torch.randn(16, 3, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    gn = GradNormWeighting(3, update_every=10, dtype=torch.float64)
    update_steps = []
    for step in range(1, 26):
        out = model(x)
        terms = [out.square().mean(), (out - 1.0).square().mean(), out.mean().square()]
        before = calls["grad"]
        loss = gn.objective(terms, model.parameters(), step)
        if calls["grad"] > before:
            update_steps.append(step)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert update_steps == [1, 11, 21]
    assert calls["grad"] == 3 * len(terms)
    assert gn.n_updates == 3


def test_none_weighting_never_updates_and_weighted_loss() -> None:
    none = make_weighting("none", 3)
    assert not any(none.needs_update(s) for s in range(1, 100))
    assert none.weights.tolist() == [1.0, 1.0, 1.0]
    losses = [torch.tensor(2.0), torch.tensor(3.0, requires_grad=True), torch.tensor(5.0)]
    total = weighted_loss(losses, torch.tensor([1.0, 10.0, 100.0], requires_grad=True))
    assert total.item() == 532.0
    total.backward()  # gradient reaches the loss terms ...
    assert losses[1].grad.item() == 10.0
    assert isinstance(make_weighting("gn", 2), GradNormWeighting)
    assert isinstance(make_weighting("lra", 2), LearningRateAnnealing)
    assert isinstance(none, NoWeighting)


def test_gn_zero_gradient_term_keeps_weight() -> None:
    gn = GradNormWeighting(3, dtype=torch.float64)
    grads = [torch.tensor([3.0, 4.0]), torch.zeros(2), torch.tensor([0.0, 1.0])]
    gn.update(grads)  # mean over nonzero norms (5, 1) = 3
    assert gn.weights.tolist() == pytest.approx([0.9 + 0.1 * 3 / 5, 1.0, 0.9 + 0.1 * 3.0])


def test_weighting_state_round_trip() -> None:
    gn = GradNormWeighting(3, dtype=torch.float64)
    gn.update(_toy_gradients(1.0, 2.0))
    other = GradNormWeighting(3, dtype=torch.float64)
    other.load_state_dict(gn.state_dict())
    assert torch.equal(other.weights, gn.weights) and other.n_updates == 1


def test_alignment_score_limits_and_formula() -> None:
    v = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    assert gradient_alignment_score([v, 2.5 * v, v]).item() == pytest.approx(1.0, abs=1e-14)
    assert gradient_alignment_score([v, -3.0 * v]).item() == pytest.approx(-1.0, abs=1e-14)
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(50, generator=gen, dtype=torch.float64) for _ in range(4)]
    mean_unit = sum(g / g.norm() for g in grads) / 4
    expected = 2.0 * mean_unit.dot(mean_unit) - 1.0
    assert gradient_alignment_score(grads).item() == pytest.approx(expected.item(), abs=1e-14)


def test_pairwise_cosine_symmetric_unit_diagonal() -> None:
    gen = torch.Generator().manual_seed(1)
    grads = [torch.randn(30, generator=gen, dtype=torch.float64) for _ in range(5)]
    cos = pairwise_cosine(grads)
    assert cos.shape == (5, 5)
    assert torch.allclose(cos, cos.T, atol=1e-15)
    assert torch.allclose(cos.diagonal(), torch.ones(5, dtype=torch.float64), atol=1e-14)
    expected = grads[0].dot(grads[3]) / (grads[0].norm() * grads[3].norm())
    assert cos[0, 3].item() == pytest.approx(expected.item(), abs=1e-14)
