"""Tests of the loss balancers (eofpinn.solvers.pinn.balancing): GN, LRA and ReLoBRaLo formulas on
hand-computable toy losses, per-term gradients only on update steps, explicit state, the
registry; and the gradient-conflict diagnostics (conflict.py).
"""

from __future__ import annotations

import math

import pytest
import torch

from eofpinn.cases.pinn_settings import BalancingSettings, SettingError
from eofpinn.solvers.pinn.balancing import (
    BALANCERS,
    GradNorm,
    LearningRateAnnealing,
    NoBalancing,
    ReLoBRaLo,
    make_balancer,
)
from eofpinn.solvers.pinn.conflict import gradient_alignment_score, pairwise_cosine, per_term_gradients, weighted_loss

NAMES = ("a", "b", "c")
NO_LOSSES = torch.zeros(3, dtype=torch.float64)


def _gn(**options) -> tuple[GradNorm, dict]:
    gn = GradNorm(GradNorm.Options(**options))
    return gn, gn.init(NAMES, dtype=torch.float64)


def _updated(balancer, state, grads, step: int = 0):
    return balancer.update(state, step, NO_LOSSES, grads)[1]


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
    gn, state = _gn(every=10)
    # θ = (1, 2): n = (6, 2, 6√2).
    state = _updated(gn, state, _toy_gradients(1.0, 2.0))
    first = [0.9 + 0.1 * e for e in _gn_estimate([6.0, 2.0, 6.0 * math.sqrt(2.0)])]
    assert state["weights"].tolist() == pytest.approx(first, rel=1e-12, abs=1e-12)
    # θ = (2, −1): n = (12, 1, 2√2).
    state = _updated(gn, state, _toy_gradients(2.0, -1.0), step=10)
    second = _gn_second_update(first)
    assert state["weights"].tolist() == pytest.approx(second, rel=1e-12, abs=1e-12)
    assert state["updates"] == 2


def test_gn_update_from_norms_equals_update_from_gradients() -> None:
    gn, from_grads = _gn()
    from_norms = dict(from_grads)
    for point in ((1.0, 2.0), (2.0, -1.0)):
        grads = _toy_gradients(*point)
        from_grads = _updated(gn, from_grads, grads)
        from_norms = gn.update_from_norms(from_norms, torch.stack([g.norm() for g in grads]))[1]
    assert torch.allclose(from_grads["weights"], from_norms["weights"], rtol=1e-15, atol=0.0)


def test_gn_init_from_first_estimate() -> None:
    gn, state = _gn(init_from_first=True)
    state = _updated(gn, state, _toy_gradients(1.0, 2.0))
    first = _gn_estimate([6.0, 2.0, 6.0 * math.sqrt(2.0)])
    assert state["weights"].tolist() == pytest.approx(first, rel=1e-12, abs=1e-12)
    state = _updated(gn, state, _toy_gradients(2.0, -1.0))
    second = _gn_second_update(first)
    assert state["weights"].tolist() == pytest.approx(second, rel=1e-12, abs=1e-12)


def test_gn_max_ratio_clips_the_estimates_to_a_multiple_of_the_smallest() -> None:
    """θ = (2, −1): n = (12, 1, 2√2), mean 5.276: estimates (0.440, 5.276, 1.865); with
    max_ratio 5 the second is clipped to 5 × 0.440, the others stay."""
    norms = [12.0, 1.0, 2.0 * math.sqrt(2.0)]
    estimate = _gn_estimate(norms)
    clipped = [estimate[0], 5.0 * estimate[0], estimate[2]]
    gn, state = _gn(init_from_first=True, max_ratio=5.0)
    state = _updated(gn, state, _toy_gradients(2.0, -1.0))
    assert state["weights"].tolist() == pytest.approx(clipped, rel=1e-12, abs=1e-12)
    plain, plain_state = _gn(init_from_first=True, max_ratio=100.0)  # a ratio above the spread: no change
    assert _updated(plain, plain_state, _toy_gradients(2.0, -1.0))["weights"].tolist() == pytest.approx(
        estimate, rel=1e-12, abs=1e-12)
    with pytest.raises(SettingError, match=r"\[pinn.balancing.max_ratio\] must be 0 \(no clipping\) or a number in \[1, 1e12\]; got 0.5"):
        make_balancer(BalancingSettings(name="gn", options={"max_ratio": 0.5}))


def test_gn_cap_poisson_false_leaves_poissons_estimate_unclipped() -> None:
    """The same norms with the terms named (stokes_x, poisson, continuity) and max_ratio 5:
    with cap_poisson false Poisson's estimate (5.276) stays as it is, continuity's is still clipped
    to 5 × 0.440 if above it (1.865 is not); with the default both would be clipped."""
    norms = [12.0, 1.0, 2.0 * math.sqrt(2.0)]
    estimate = _gn_estimate(norms)
    names = ("stokes_x", "poisson", "continuity")
    free = GradNorm(GradNorm.Options(init_from_first=True, max_ratio=5.0, cap_poisson=False))
    state = _updated(free, free.init(names, dtype=torch.float64), _toy_gradients(2.0, -1.0))
    assert state["weights"].tolist() == pytest.approx(estimate, rel=1e-12, abs=1e-12)
    capped = GradNorm(GradNorm.Options(init_from_first=True, max_ratio=5.0))
    state = _updated(capped, capped.init(names, dtype=torch.float64), _toy_gradients(2.0, -1.0))
    assert state["weights"].tolist() == pytest.approx([estimate[0], 5.0 * estimate[0], estimate[2]],
                                                      rel=1e-12, abs=1e-12)
    free = GradNorm(GradNorm.Options(init_from_first=True, max_ratio=2.0, cap_poisson=False))
    state = _updated(free, free.init(("stokes_x", "continuity", "poisson"), dtype=torch.float64),
                     _toy_gradients(2.0, -1.0))  # the other order: continuity (5.276) clipped to 0.880
    assert state["weights"].tolist() == pytest.approx([estimate[0], 2.0 * estimate[0], estimate[2]],
                                                      rel=1e-12, abs=1e-12)


def test_gn_ion_spread_factor_multiplies_the_ion_spread_terms_after_the_clip() -> None:
    """The same norms with the terms named (a, spread_plus, spread_minus), max_ratio 5 and
    ion_spread_factor 10: spread_plus's estimate is clipped to 5 × 0.440 and then multiplied by 10,
    spread_minus's multiplied by 10, a's left alone; the factor stays out of terms of other names."""
    norms = [12.0, 1.0, 2.0 * math.sqrt(2.0)]
    estimate = _gn_estimate(norms)
    gn = GradNorm(GradNorm.Options(init_from_first=True, max_ratio=5.0, ion_spread_factor=10.0))
    state = gn.init(("a", "spread_plus", "spread_minus"), dtype=torch.float64)
    assert state["factors"].tolist() == [1.0, 10.0, 10.0]
    state = _updated(gn, state, _toy_gradients(2.0, -1.0))
    assert state["weights"].tolist() == pytest.approx([estimate[0], 50.0 * estimate[0], 10.0 * estimate[2]],
                                                      rel=1e-12, abs=1e-12)
    gn, state = _gn(init_from_first=True, max_ratio=5.0, ion_spread_factor=10.0)  # terms a, b, c: no ion spreads
    state = _updated(gn, state, _toy_gradients(2.0, -1.0))
    assert state["weights"].tolist() == pytest.approx([estimate[0], 5.0 * estimate[0], estimate[2]], rel=1e-12,
                                                      abs=1e-12)
    with pytest.raises(SettingError, match=r"\[pinn.balancing.ion_spread_factor\] must be a number in \(0, 1e6\]; got 0"):
        make_balancer(BalancingSettings(name="gn", options={"ion_spread_factor": 0}))


def test_gn_wall_ions_factor_multiplies_the_wall_ions_term_only() -> None:
    """Terms (wall_ions, spread_plus, c), max_ratio 5, wall_ions_factor 4 and ion_spread_factor 10:
    wall_ions's estimate is multiplied by 4, spread_plus's clipped to 5 × wall_ions's estimate and
    then multiplied by 10, c left alone."""
    norms = [12.0, 1.0, 2.0 * math.sqrt(2.0)]
    estimate = _gn_estimate(norms)
    gn = GradNorm(GradNorm.Options(init_from_first=True, max_ratio=5.0, ion_spread_factor=10.0, wall_ions_factor=4.0))
    state = gn.init(("wall_ions", "spread_plus", "c"), dtype=torch.float64)
    assert state["factors"].tolist() == [4.0, 10.0, 1.0]
    state = _updated(gn, state, _toy_gradients(2.0, -1.0))
    assert state["weights"].tolist() == pytest.approx([4.0 * estimate[0], 50.0 * estimate[0], estimate[2]],
                                                      rel=1e-12, abs=1e-12)
    with pytest.raises(SettingError, match=r"\[pinn.balancing.wall_ions_factor\] must be a number in \(0, 1e6\]; got -1"):
        make_balancer(BalancingSettings(name="gn", options={"wall_ions_factor": -1}))


def test_lra_weights_equal_closed_form() -> None:
    lra = LearningRateAnnealing(LearningRateAnnealing.Options(reference=0))
    state = lra.init(NAMES, dtype=torch.float64)
    # θ = (1, 2): max|∇L1| = 6; mean|∇L2| = 1, mean|∇L3| = 6.
    state = _updated(lra, state, _toy_gradients(1.0, 2.0))
    first = [1.0, 0.9 + 0.1 * 6.0, 0.9 + 0.1 * 1.0]
    assert state["weights"].tolist() == pytest.approx(first, rel=1e-12, abs=1e-12)
    # θ = (2, −1): max|∇L1| = 12; mean|∇L2| = 1/2, mean|∇L3| = 2.
    state = _updated(lra, state, _toy_gradients(2.0, -1.0))
    second = [1.0, 0.9 * first[1] + 0.1 * 24.0, 0.9 * first[2] + 0.1 * 6.0]
    assert state["weights"].tolist() == pytest.approx(second, rel=1e-12, abs=1e-12)


def test_lra_other_reference_keeps_its_weight() -> None:
    lra = LearningRateAnnealing(LearningRateAnnealing.Options(reference=2))
    state = _updated(lra, lra.init(NAMES, dtype=torch.float64), _toy_gradients(1.0, 2.0))
    # max|∇L3| = 6; mean|∇L1| = 3, mean|∇L2| = 1
    assert state["weights"].tolist() == pytest.approx([0.9 + 0.2, 0.9 + 0.6, 1.0], rel=1e-12)
    with pytest.raises(SettingError, match=r"\[pinn.balancing.reference\] must be a term index below 3 \(a, b, c\); got 5"):
        LearningRateAnnealing(LearningRateAnnealing.Options(reference=5)).init(NAMES)


def test_per_term_gradients_only_on_update_steps() -> None:
    gn, state = _gn(every=10)
    assert [step for step in range(25) if gn.needs_gradients(state, step)] == [0, 10, 20]
    # Between updates the weights stay as they are, whatever the losses.
    state = _updated(gn, state, _toy_gradients(1.0, 2.0))
    weights, after = gn.update(state, 3, torch.tensor([5.0, 6.0, 7.0], dtype=torch.float64), None)
    assert after is state and torch.equal(weights, state["weights"])


def test_none_balancing_never_updates_and_weighted_loss() -> None:
    none = make_balancer(BalancingSettings(name="none"))
    state = none.init(NAMES)
    assert not any(none.needs_gradients(state, s) for s in range(100))
    assert none.update(state, 5, NO_LOSSES, None)[0].tolist() == [1.0, 1.0, 1.0]
    losses = [torch.tensor(2.0), torch.tensor(3.0, requires_grad=True), torch.tensor(5.0)]
    total = weighted_loss(losses, torch.tensor([1.0, 10.0, 100.0], requires_grad=True))
    assert total.item() == 532.0
    total.backward()  # gradient reaches the loss terms ...
    assert losses[1].grad.item() == 10.0
    assert isinstance(make_balancer(BalancingSettings(name="gn")), GradNorm)
    assert isinstance(make_balancer(BalancingSettings(name="lra")), LearningRateAnnealing)
    assert isinstance(none, NoBalancing)
    assert list(BALANCERS) == ["none", "gn", "lra", "relobralo"]
    with pytest.raises(SettingError, match=r"^\[pinn.balancing.name\] must be one of 'none', 'gn', 'lra', 'relobralo'; "
                                           r"got 'softadapt'$"):
        make_balancer(BalancingSettings(name="softadapt"))
    with pytest.raises(SettingError, match=r"^\[pinn.balancing.every\] is not a key of \[pinn.balancing\]; "
                                           r"this choice takes no options$"):
        make_balancer(BalancingSettings(name="none", options={"every": 4}))
    with pytest.raises(SettingError, match=r"^\[pinn.balancing.momentum\] must be a number in \[0, 1\]; got 1.5$"):
        make_balancer(BalancingSettings(name="gn", options={"momentum": 1.5}))


def test_gn_zero_gradient_term_keeps_weight() -> None:
    gn, state = _gn()
    grads = [torch.tensor([3.0, 4.0]), torch.zeros(2), torch.tensor([0.0, 1.0])]
    state = _updated(gn, state, grads)  # mean over nonzero norms (5, 1) = 3
    assert state["weights"].tolist() == pytest.approx([0.9 + 0.1 * 3 / 5, 1.0, 0.9 + 0.1 * 3.0])


def test_relobralo_weights_equal_closed_form() -> None:
    """b(t, t') = K softmax(L(t) / (T L(t'))), λ(t) = α[ρ λ(t−1) + (1 − ρ) b(t, 0)] + (1 − α) b(t, t−1)."""
    options = ReLoBRaLo.Options(alpha=0.9, temperature=1.0, rho=0.5)
    balancer = ReLoBRaLo(options)
    state = balancer.init(NAMES, dtype=torch.float64)
    assert not balancer.needs_gradients(state, 0)
    first = torch.tensor([4.0, 1.0, 2.0], dtype=torch.float64)
    weights, state = balancer.update(state, 0, first, None)
    assert weights.tolist() == [1.0, 1.0, 1.0]  # step 0 only records L(0)
    second = torch.tensor([2.0, 1.0, 4.0], dtype=torch.float64)
    weights, state = balancer.update(state, 1, second, None)

    def balance(ratios):
        exps = [math.exp(r) for r in ratios]
        return [3 * e / sum(exps) for e in exps]

    to_start = balance([2 / 4, 1 / 1, 4 / 2])  # ratios to L(0); L(t − 1) = L(0) here too
    expected = [0.9 * (0.5 * 1.0 + 0.5 * b0) + 0.1 * b1 for b0, b1 in zip(to_start, to_start)]
    assert weights.tolist() == pytest.approx(expected, rel=1e-12)
    assert sum(weights.tolist()) == pytest.approx(3.0, rel=1e-12)
    # The term whose loss grew (c) now weighs most, the one that halved (a) least.
    assert weights[2] > weights[1] > weights[0]
    third = torch.tensor([1.0, 3.0, 4.0], dtype=torch.float64)
    previous = weights.tolist()
    weights, state = balancer.update(state, 2, third, None)
    to_start, to_last = balance([1 / 4, 3 / 1, 4 / 2]), balance([1 / 2, 3 / 1, 4 / 4])
    expected = [0.9 * (0.5 * w + 0.5 * b0) + 0.1 * b1 for w, b0, b1 in zip(previous, to_start, to_last)]
    assert weights.tolist() == pytest.approx(expected, rel=1e-12) and state["updates"] == 2


def test_balancer_state_round_trip() -> None:
    gn, state = _gn()
    state = _updated(gn, state, _toy_gradients(1.0, 2.0))
    restored = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in state.items()}
    assert torch.equal(restored["weights"], state["weights"]) and restored["updates"] == 1
    again, _ = gn.update(restored, 10, NO_LOSSES, _toy_gradients(2.0, -1.0))
    assert again.tolist() == pytest.approx(_gn_second_update(state["weights"].tolist()), rel=1e-12)


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
