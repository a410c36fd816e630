"""Fast checks of the 1D Nernst–Planck–Poisson coupling study (validation/npp1d.py).

Measured values the tolerances are built around (CPU, float32, ε = 0.2, 2×16 networks,
128 points, GN every 50 steps, 150 SOAP+GN steps, seeds 0–4, ATen CPU kernels "default" and
"avx2"): with the paper formulation at lr 1e-3 the error only falls 1.43–2.46× (initial 1.0–1.2,
the networks start near zero), too little and too seed-dependent to test robustly; with the
recipe formulation (hard walls, log c) at lr 3e-3 it falls from 0.913–0.915 to 0.073–0.100
(eofpinn's trainer, networks drawn before the points), i.e. 9.1–12.5×. The test asserts > 3×
(a margin of 3× over the worst seed and kernel).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from eofpinn.physics.exact import poisson_boltzmann
from eofpinn.solvers.pinn.conflict import per_term_gradients
from validation.npp1d import (
    CouplingConfig,
    build_networks,
    collocation_points,
    degradation_table,
    field_jets,
    field_values,
    loss_terms,
    method_name,
    parse_method,
    pnp_residuals,
    train_configuration,
    wall_band_height,
)


@pytest.fixture
def single_thread():
    """Tiny networks run fastest on one thread (and do not stall when other jobs share the CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _exact_jets(y: np.ndarray, debye_ratio: float, zeta: float) -> dict[str, tuple]:
    """(f, f', f'') of ψ, c₊ = e^{−ψ}, c₋ = e^{ψ} with ψ'' = sinh ψ / ε²."""
    psi, psi_y = poisson_boltzmann(y, debye_ratio, zeta)
    psi_yy = np.sinh(psi) / debye_ratio**2
    jets = {"psi": (psi, psi_y, psi_yy)}
    for name, sign in (("c_plus", 1.0), ("c_minus", -1.0)):
        c = np.exp(-sign * psi)
        jets[name] = (c, -sign * psi_y * c, (psi_y**2 - sign * psi_yy) * c)
    return jets


@pytest.mark.parametrize("debye_ratio", [0.2, 0.05, 0.02])
def test_exact_solution_has_zero_residual(debye_ratio):
    y = np.linspace(0.0, 1.0, 801)
    jets = _exact_jets(y, debye_ratio, 1.0)
    residuals = pnp_residuals(jets["psi"], jets["c_plus"], jets["c_minus"], debye_ratio)
    for r in residuals:
        assert np.max(np.abs(r)) < 1e-8
    # A wrong pairing (c₊ = e^{+ψ}) is not a solution: the residual function is not trivially zero.
    wrong = pnp_residuals(jets["psi"], jets["c_minus"], jets["c_plus"], debye_ratio)
    assert min(np.max(np.abs(r)) for r in wrong) > 1.0


@pytest.mark.parametrize("formulation", ["paper", "recipe"])
def test_network_jets_match_autograd(formulation):
    nets = build_networks(8, 2, torch.Generator().manual_seed(3))
    y = torch.linspace(0.0, 1.0, 9, dtype=torch.float64, requires_grad=True)
    jets = field_jets(nets, y, formulation, zeta=1.0)
    values = field_values(nets, y, formulation, zeta=1.0)
    for name, f in values.items():
        d1 = torch.autograd.grad(f.sum(), y, create_graph=True)[0]
        d2 = torch.autograd.grad(d1.sum(), y, retain_graph=True)[0]
        got = jets[name].detach()
        for k, want in enumerate((f, d1, d2)):
            assert torch.allclose(got[k], want.detach(), rtol=1e-12, atol=1e-12)
    if formulation == "recipe":  # hard walls: exact wall values whatever the network
        walls = field_values(nets, torch.tensor([0.0, 1.0], dtype=torch.float64), formulation, 1.0)
        assert torch.allclose(walls["c_minus"], torch.full((2,), math.e, dtype=torch.float64))


def test_collocation_points_fill_wall_bands():
    eps = 0.02
    y = collocation_points(eps, 400, torch.Generator().manual_seed(0), torch.float64)
    band = wall_band_height(eps)
    assert band == pytest.approx(5 * math.sqrt(2) * eps)
    assert wall_band_height(0.2) == 0.3
    assert y.min() >= 0.0 and y.max() <= 1.0 and torch.all(y[1:] >= y[:-1])
    # 200 band points + their share (2·band) of the 200 uniform ones.
    in_bands = int(((y < band) | (y > 1 - band)).sum())
    assert 200 + 200 * 2 * band - 20 < in_bands < 200 + 200 * 2 * band + 20


def test_short_soap_gn_run_reduces_the_error(single_thread):
    config = CouplingConfig(debye_ratio=0.2, optimizer="soap", weighting="gn", formulation="recipe", steps=150,
                            width=16, depth=2, n_interior=128, lr=3e-3, update_every=50, log_every=10,
                            n_eval=401, seed=0)
    result = train_configuration(config)
    assert result["method"] == "SOAP+GN" and not result["diverged"]
    assert result["initial_error"] / result["final_error"] > 3.0
    assert result["best_error"] <= result["final_error"] + 1e-12
    assert result["history"]["log_step"] == list(range(0, 151, 10))


def test_alignment_score_matches_formula_on_logged_gradients(single_thread):
    config = CouplingConfig(debye_ratio=0.1, optimizer="adam", weighting="gn", steps=4, width=6, depth=2,
                            n_interior=32, update_every=2, log_every=1, n_eval=101, seed=1,
                            record_gradients=True)
    history = train_configuration(config)["history"]
    assert history["log_step"] == [0, 1, 2, 3, 4]
    for grads, score, cosine in zip(history["term_gradients"], history["alignment"], history["cosine"]):
        units = [g / np.linalg.norm(g) for g in grads]
        formula = 2.0 * np.sum(np.mean(units, axis=0) ** 2) - 1.0
        assert -1.0 <= score <= 1.0
        assert score == pytest.approx(formula, abs=1e-5)
        cosine = np.array(cosine)
        assert cosine.shape == (6, 6) and np.allclose(np.diag(cosine), 1.0, atol=1e-5)
        assert cosine[0, 1] == pytest.approx(float(units[0] @ units[1]), abs=1e-5)
        assert 2.0 * cosine.mean() - 1.0 == pytest.approx(score, abs=1e-5)  # A = 2 mean_ij cos − 1
    # The row-0 gradients are those of the freshly initialised networks (drawn first, then the points).
    generator = torch.Generator().manual_seed(1)
    nets = build_networks(6, 2, generator).float()
    y = collocation_points(0.1, 32, generator, torch.float64).float()
    fresh = per_term_gradients(loss_terms(nets, y, 0.1, "paper", 1.0), list(nets.parameters()))
    for logged, g in zip(history["term_gradients"][0], fresh):
        assert np.allclose(logged, g.double().numpy(), rtol=1e-6, atol=1e-7)


def test_degradation_table_on_synthetic_results():
    results = []
    for seed, scale in ((0, 1.0), (1, 4.0)):  # geometric mean over seeds: ×2
        for eps, soap_err, adam_err in ((0.2, 1e-3, 1e-3), (0.1, 1.05e-3, 1e-2), (0.02, 1.1e-3, 0.5)):
            results.append({"method": "SOAP+GN", "debye_ratio": eps, "seed": seed, "final_error": scale * soap_err})
            results.append({"method": "Adam+GN", "debye_ratio": eps, "seed": seed, "final_error": scale * adam_err})
    results.append({"method": "Adam+GN", "debye_ratio": 0.02, "seed": 2, "final_error": math.nan})  # diverged
    results.append({"method": "Adam+LRA", "debye_ratio": 0.2, "seed": 0, "final_error": 0.1,
                    "formulation": "recipe"})
    results.append({"method": "Adam+LRA", "debye_ratio": 0.02, "seed": 0, "final_error": 0.3,
                    "formulation": "recipe"})
    rows = degradation_table(results)
    assert [r["method"] for r in rows] == ["SOAP+GN", "Adam+GN", "Adam+LRA"]
    soap, adam, lra = rows
    assert list(soap["errors"]) == [0.2, 0.1, 0.02]
    assert soap["errors"][0.2] == pytest.approx(2e-3)
    assert soap["ratio"] == pytest.approx(1.1)
    assert adam["ratio"] == pytest.approx(500.0)
    assert soap["paper"] == "≤ 1.1×" and adam["paper"] == "> 100×"
    assert soap["n_seeds"] == 2 and adam["n_seeds"] == 3
    assert lra["formulation"] == "recipe" and lra["ratio"] == pytest.approx(3.0) and lra["paper"] == ""


def test_method_names_round_trip():
    for name in ("SOAP+GN", "Adam+GN", "SOAP+none", "Adam+LRA"):
        assert method_name(*parse_method(name)) == name
    with pytest.raises(ValueError, match="OPTIMISER"):
        parse_method("SGD+GN")
    with pytest.raises(ValueError, match="formulation"):
        CouplingConfig(debye_ratio=0.1, formulation="slotboom")
