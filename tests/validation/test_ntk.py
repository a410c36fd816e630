"""Fast checks of the NTK claims (validation/ntk.py; validation study 4).

Measured values (width 32, depth 2, seed 0, rcond 1e-10, float64) that the tolerances
below are built around:
* thermoelasticity, N = 16: slope of log λ_max(K) vs log γ over γ ∈ {10, 20, 40} = 1.99834.
  It is below 2 because K(γ) = γ²A + γB + C: the local slope is 2 − O(1/γ) (1.78 between
  γ = 1 and 2, 1.9994 between 20 and 50) and λ_max(K)/γ² → σ_max(u-rows of J_T)² = 319.57.
* N = 8: rank(J_T) + rank(J_u) = 12 + 10 > M = 20 → λ_max(K_P) = 2 to 1e-15 for all γ.
* N = 16: ranks 12–14 + 14 < M = 36 → λ_max(K_P) = 1 + cos θ_min = 1.98474 (γ = 1) …
  1.999994 (γ = 50) ≈ 2 − 1/(4Nγ²): the claim "= S, γ-independent" does not hold exactly.
* PNP (S = 3): λ_max(K)·ε⁴ = 37.92 (1/ε² form), λ_max(K) ≈ 497 flat (ε² form);
  λ_max(K_P) = 3 only with the centre point y = 1/2 among 3 points (init Wronskian zero).
"""

from __future__ import annotations

import math

import pytest
import torch

from validation.ntk import (
    MLPSpec,
    field_derivatives,
    field_derivatives_autograd,
    fit_loglog_slope,
    init_mlp,
    min_principal_angle_cos,
    mlp_scalar,
    ntk_max_eigenvalue,
    pnp_init_wronskian,
    pnp_residual_jacobian,
    preconditioned_ntk,
    preconditioned_ntk_max_eigenvalue,
    thermoelastic_kp_estimate,
    thermoelastic_residual_jacobian,
    thermoelastic_sweep,
)

W, D, SEED = 32, 2, 0


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    """The matrices are tiny (≤ 54 × 3459): intra-op threading only costs time, and a lot
    of it on a loaded 2-core machine.  Restored after this module."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_field_derivatives_match_finite_differences() -> None:
    spec = MLPSpec(width=8, depth=2)
    theta = init_mlp(spec, torch.Generator().manual_seed(3))
    theta = theta + 0.1 * torch.randn(theta.shape, generator=torch.Generator().manual_seed(4), dtype=theta.dtype)
    x = torch.tensor([0.1, 0.37, 0.8], dtype=torch.float64)
    f, f1, f2 = field_derivatives(theta, spec, x)
    h = 1e-4
    fp = torch.stack([mlp_scalar(theta, spec, xx + h) for xx in x])
    fm = torch.stack([mlp_scalar(theta, spec, xx - h) for xx in x])
    torch.testing.assert_close(f1, (fp - fm) / (2 * h), rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(f2, (fp - 2 * f + fm) / h**2, rtol=1e-5, atol=1e-6)
    for a, b in zip((f, f1, f2), field_derivatives_autograd(theta, spec, x)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_thermo_jacobian_rows_match_plain_autograd() -> None:
    n, gamma = 4, 3.0
    J, sl = thermoelastic_residual_jacobian(gamma, n_points=n, width=8, depth=1, seed=SEED)
    spec = MLPSpec(width=8, depth=1)
    gen = torch.Generator().manual_seed(SEED)
    th_t = init_mlp(spec, gen).requires_grad_(True)
    x = torch.arange(1, n + 1, dtype=torch.float64) / (n + 1)
    for i, xi in enumerate(x):
        xx = xi.clone().requires_grad_(True)
        t = mlp_scalar(th_t, spec, xx)
        (t1,) = torch.autograd.grad(t, xx, create_graph=True)
        (t2,) = torch.autograd.grad(t1, xx, create_graph=True)
        (g1,) = torch.autograd.grad(t1, th_t, retain_graph=True)
        (g2,) = torch.autograd.grad(t2, th_t)
        torch.testing.assert_close(J[i, sl[0]], -g2, rtol=1e-10, atol=1e-12)  # −κ ∂T''/∂θ
        torch.testing.assert_close(J[n + i, sl[0]], gamma * g1, rtol=1e-10, atol=1e-12)  # γ ∂T'/∂θ


def test_thermo_structure_zero_rows_and_gamma_scaling() -> None:
    n = 8
    J1, sl = thermoelastic_residual_jacobian(1.0, n_points=n, width=W, depth=D, seed=SEED)
    J7, _ = thermoelastic_residual_jacobian(7.0, n_points=n, width=W, depth=D, seed=SEED)
    ju = J1[:, sl[1]]
    assert torch.all(ju[:n] == 0) and torch.all(ju[2 * n : 2 * n + 2] == 0)  # T-eq, T-BC rows
    assert torch.all(J1[2 * n + 2 :, sl[0]] == 0)  # u-BC rows of J_T
    d = torch.ones(J1.shape[0], dtype=J1.dtype)
    d[n : 2 * n] = 7.0
    torch.testing.assert_close(J7[:, sl[0]], d[:, None] * J1[:, sl[0]], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(J7[:, sl[1]], J1[:, sl[1]], rtol=0, atol=0)


def test_lambda_max_K_grows_like_gamma_squared() -> None:
    gammas = [10.0, 20.0, 40.0]
    lam = [ntk_max_eigenvalue(thermoelastic_residual_jacobian(g, 16, W, D, SEED)[0]) for g in gammas]
    slope = fit_loglog_slope(gammas, lam)
    # measured 1.99834: approaches 2 from below (K = γ²A + γB + C).
    assert slope == pytest.approx(1.99834, abs=2e-4)
    assert 1.99 < slope < 2.0
    # γ → ∞: λ_max(K)/γ² → σ_max(u-equation rows of J_T at γ = 1)² (= 319.57 here).
    J1, sl = thermoelastic_residual_jacobian(1.0, 16, W, D, SEED)
    limit = float(torch.linalg.svdvals(J1[16:32, sl[0]])[0] ** 2)
    lam_big = ntk_max_eigenvalue(thermoelastic_residual_jacobian(1000.0, 16, W, D, SEED)[0])
    assert lam_big / 1000.0**2 == pytest.approx(limit, rel=1e-4)


def test_preconditioned_max_eigenvalue_is_S_when_ranges_intersect() -> None:
    rows = thermoelastic_sweep([1.0, 10.0, 40.0], n_points=8, width=W, depth=D, seed=SEED)
    for r in rows:
        assert sum(r["block_ranks"]) > r["n_residuals"]  # generic-intersection criterion
        assert abs(r["lambda_max_KP"] - 2.0) < 1e-6
        assert r["lambda_max_KP"] <= 2.0 + 1e-8
    kp = [r["lambda_max_KP"] for r in rows]
    assert (max(kp) - min(kp)) / 2.0 < 1e-6


def test_preconditioned_below_S_and_gamma_dependent_when_ranges_do_not_meet() -> None:
    n = 16
    out = []
    for g in (1.0, 10.0):
        J, sl = thermoelastic_residual_jacobian(g, n, W, D, SEED)
        lam = preconditioned_ntk_max_eigenvalue(J, sl)
        # sum of two orthogonal projectors: bounded by S, = 1 + cos θ_min exactly.
        assert lam <= 2.0 + 1e-8
        assert lam == pytest.approx(1.0 + min_principal_angle_cos(J, sl), abs=1e-10)
        # nearest common direction: linear T vs quadratic u → ≈ 2 − 1/(4Nγ²).
        assert lam == pytest.approx(thermoelastic_kp_estimate(g, n), abs=5e-5)
        out.append(lam)
    assert out[0] < 2.0 - 1e-2  # 1.98474: the "= S" claim does not hold here
    assert out[1] - out[0] > 1e-2  # and it is not γ-independent


def test_preconditioned_kernel_is_sum_of_projectors() -> None:
    J, sl = pnp_residual_jacobian(0.1, 1.0, n_points=6, width=W, depth=D, seed=SEED)
    kp = preconditioned_ntk(J, sl)
    ev = torch.linalg.eigvalsh(kp)
    assert ev[0] > -1e-10 and ev[-1] <= 3.0 + 1e-8
    assert float(torch.trace(kp)) == pytest.approx(sum(
        int((torch.linalg.svdvals(J[:, s]) > 1e-10 * torch.linalg.svdvals(J[:, s])[0]).sum()) for s in sl
    ), abs=1e-8)  # trace of a projector = its rank


def test_pnp_kernels() -> None:
    eps = [0.1, 0.05]
    # 1/ε² form: λ_max(K) ∝ ε⁻⁴ (γ² with γ = 1/ε²); ε² form: flat.
    jac_inv = [pnp_residual_jacobian(e, 1.0, 16, W, D, SEED, "inv_eps2") for e in eps]
    inv = [ntk_max_eigenvalue(J) * e**4 for (J, _), e in zip(jac_inv, eps)]
    assert inv[0] == pytest.approx(inv[1], rel=1e-3)  # 37.927 vs 37.923
    flat = [ntk_max_eigenvalue(pnp_residual_jacobian(e, 1.0, 16, W, D, SEED, "eps2")[0]) for e in eps]
    assert flat[0] == pytest.approx(flat[1], rel=1e-3)  # 497.01 vs 497.09
    # K_P: ≤ 3 always; with many points (no point on a zero of W) clearly below 3 (2.950).
    J, sl = jac_inv[0]
    lam = preconditioned_ntk_max_eigenvalue(J, sl)
    assert 2.9 < lam < 3.0 - 1e-2
    # 3 points include y = 1/2, where the zero-bias odd init gives W = 0: λ_max(K_P) = 3.
    assert float(pnp_init_wronskian(3, W, D, SEED).abs().min()) == 0.0
    vals = []
    for e in (0.2, 0.02):
        for form in ("eps2", "inv_eps2"):
            J, sl = pnp_residual_jacobian(e, 1.0, 3, W, D, SEED, form)
            v = preconditioned_ntk_max_eigenvalue(J, sl)
            assert abs(v - 3.0) < 1e-6 and v <= 3.0 + 1e-8
            vals.append(v)
    assert (max(vals) - min(vals)) / 3.0 < 1e-6
    assert math.isfinite(lam)
