r"""Numerical checks of the NTK claims of arXiv 2605.23391 (validation study 4).

Setting
-------
A coupled PINN has ``S`` blocks (one small MLP per physical field) with parameters
``θ = (θ_1, …, θ_S)``.  Stack every residual the loss squares — the PDE residuals of all
equations at ``N`` collocation points and the boundary-condition residuals — into one vector
``r(θ) ∈ R^M`` and let ``J = ∂r/∂θ ∈ R^{M×P}``.  ``J_s = J[:, block s]`` are the columns of
block ``s``.  Two kernels are compared:

* the standard (empirical) NTK ``K = J Jᵀ = Σ_s J_s J_sᵀ``;
* the block-diagonal Gauss–Newton preconditioned kernel
  ``K_P = Σ_s J_s (J_sᵀ J_s)⁺ J_sᵀ``.

Claims checked
--------------
1. ``λ_max(K)`` grows like ``γ²`` with the coupling strength ``γ``.  For the linear 1D
   thermoelasticity system (x ∈ [0, 1])

       −κ T'' = f_T,     −E u'' + γ T' = f_u,     T(0) = T(1) = u(0) = u(1) = 0,

   the rows of ``J_T`` that belong to the u-equation are ``γ ∂T'(x_i)/∂θ_T``, so
   ``J_T(γ) = D_γ J_T(1)`` with ``D_γ`` = diag(1 on T-rows, γ on u-rows, 1 on BC rows),
   while ``J_u`` does not depend on γ.  Hence ``K(γ) = γ² A + γ B + C`` with
   ``A = E_u J_T(1) J_T(1)ᵀ E_u`` (``E_u`` the u-row selector) positive semi-definite and
   ``λ_max(K) = γ² λ_max(A) + O(γ)``: the local log-log slope is ``2 − O(1/γ)``, so a
   slope fitted over finite γ is slightly *below* 2 and tends to 2.

2. ``λ_max(K_P) = S`` independently of γ.  With the SVD ``J_s = U_s Σ_s V_sᵀ`` and the
   numerical rank ``r_s`` (singular values ``σ > rcond · σ_max(J_s)``; this is the
   "full numerical rank" pseudo-inverse), ``J_s (J_sᵀJ_s)⁺ J_sᵀ = U_{s,r} U_{s,r}ᵀ =: P_s``
   is the orthogonal projector onto ``range(J_s)``.  (It is computed from the SVD of
   ``J_s`` — never by forming ``J_sᵀJ_s``, which would square the condition number.)
   Therefore ``0 ⪯ K_P ⪯ S·I`` always, and ``λ_max(K_P) = S`` **iff the S ranges share a
   common nonzero vector**.  For S = 2 the spectrum is explicit: the nontrivial
   eigenvalues are ``1 ± cos θ_k`` over the principal angles ``θ_k`` between the two
   ranges, so ``λ_max(K_P) = 1 + cos θ_min = 1 + σ_max(U_1ᵀ U_2)``.

   Important structural fact: ``J_s`` has identically zero rows for every residual that
   does not involve field ``s`` (e.g. the rows of the T-equation in ``J_u``, and the
   u-boundary rows in ``J_T``), so no ``P_s`` can ever be the identity and ``K_P = S·I``
   is impossible.  What can happen is that the ranges share a vector.  For
   thermoelasticity ``range(J_T) ⊂ V_T`` (T-eq, u-eq, T-BC rows) and ``range(J_u) ⊂ V_u``
   (u-eq, u-BC rows), so a common vector lives in the u-equation rows and exists
   generically iff ``rank(J_T) + rank(J_u) > M = 2N + 4``.  ``D_γ`` only rescales such a
   vector and ``J_u`` is γ-free, so then ``λ_max(K_P) = 2`` for every γ, to rounding.
   With Xavier tanh networks the tangent features are analytic in x and the singular
   values of ``J_s`` decay geometrically: with the cutoff 1e-10 the numerical rank of a
   block saturates at about 12–14 whatever the width, so the condition holds only for a
   handful of collocation points (N ≲ 9).  For more points the ranges meet only at 0,
   ``λ_max(K_P) = 1 + cos θ_min < 2`` and it depends (weakly) on γ.  The nearest common
   direction is then explicit: T linear (T'' = 0, T' = const on the u-rows, paying only on
   the two T-BC rows, best with T(0) = −T(1)) against u quadratic with u'' = const and
   zero wall values, which gives ``cos θ_min ≈ (1 + 1/(2Nγ²))^{-1/2}``, i.e.
   ``λ_max(K_P) ≈ 2 − 1/(4Nγ²)`` (:func:`thermoelastic_kp_estimate`).

3. The same for the 1D Poisson–Nernst–Planck system (no flow) on y ∈ [0, 1] in eofpinn's
   scaling (S = 3 blocks φ, c₊, c₋):

       ε² φ'' + (c₊ − c₋)/2 = 0,   (c₊' + c₊ φ')' = 0,   (c₋' − c₋ φ')' = 0,
       φ(0) = φ(1) = ζ,   c±(0) = c±(1) = exp(∓ζ).

   It is nonlinear, so ``J`` is the linearisation at the network's initial parameters.
   The coupling ``γ ↔ 1/ε²`` appears when the Poisson residual is written as
   ``φ'' + (c₊ − c₋)/(2ε²)`` (``poisson_form="inv_eps2"``): then ``λ_max(K) ∝ ε⁻⁴``.
   In the ε²-multiplied form (``poisson_form="eps2"``, as listed above) no residual carries
   a 1/ε² factor — the only ε-dependence is the ε² on φ'' — and ``λ_max(K)`` is nearly
   ε-independent: that row scaling is itself a (diagonal) preconditioner.

   ``λ_max(K_P) = 3`` fails here for a structural reason.  A vector common to the three
   ranges must vanish on all NP and BC rows (``range(J_{c±})`` misses the other species'
   rows), so it is supported on the Poisson rows only.  But φ enters the Poisson row and
   both NP rows at a point ``y_i`` through the same two numbers ``a = δφ'(y_i)``,
   ``b = δφ''(y_i)``: NP₊ row ``c₊'a + c₊b``, NP₋ row ``−c₋'a − c₋b``.  Both vanish with
   ``(a, b) ≠ 0`` only where the Wronskian ``W = c₊'c₋ − c₊c₋'`` of the current state
   vanishes, and then the Poisson row ``ε²b`` (or ``b``) is the only one left.  So
   ``λ_max(K_P) < 3`` unless a collocation point sits on a zero of ``W`` *and* the φ
   block can also hold δφ', δφ'' at zero at every other point and δφ at both walls
   (2N + 1 conditions on a range of numerical dimension ≈ 12–14: few points only).
   With many points λ_max(K_P) stays below 3 (measured 2.94–2.98 in the 1/ε² form and
   ≈ 2.0 in the ε² form, where φ barely reaches the Poisson rows).  At Xavier init
   with zero biases every network is odd about y = 1/2 (tanh is odd), so ``c±(1/2) = 0``
   and ``W(1/2) = 0``: with N = 3 uniform points (y = 1/4, 1/2, 3/4) both conditions hold and
   ``λ_max(K_P) = 3`` exactly (an artefact of the symmetric init); at a Boltzmann state
   ``c± = e^{∓ψ}``, ``W = −2ψ'`` vanishes only where ψ' = 0 (the channel centre again).

Networks: eofpinn's tanh MLP (networks.mlp_values / mlp_jets of eofpinn/solvers/pinn), float64,
Xavier-uniform weights, zero biases, input mapped affinely from [0, 1] to [−1, 1], on a flat
parameter vector θ (nn.Linear's layout: W row-major, then b, layer by layer). Derivatives in x
are the MLP's own Taylor-mode jets (cross-checked against nested ``torch.func.grad``), the
Jacobian in θ is ``torch.func.jacrev`` of the whole stacked residual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch.func import grad, jacrev, vmap

from eofpinn.solvers.pinn.networks import mlp_jets, mlp_values

DTYPE = torch.float64

__all__ = [
    "MLPSpec",
    "init_mlp",
    "mlp_scalar",
    "field_derivatives",
    "field_derivatives_autograd",
    "thermoelastic_residual_jacobian",
    "pnp_residual_jacobian",
    "ntk_max_eigenvalue",
    "block_projectors",
    "preconditioned_ntk",
    "preconditioned_ntk_max_eigenvalue",
    "block_ranks",
    "min_principal_angle_cos",
    "thermoelastic_kp_estimate",
    "pnp_init_wronskian",
    "fit_loglog_slope",
    "thermoelastic_sweep",
    "pnp_sweep",
]


# ----------------------------------------------------------------------------------------
# Small MLPs with a flat parameter vector
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MLPSpec:
    """Scalar-in, scalar-out tanh MLP with ``depth`` hidden layers of ``width`` units."""

    width: int
    depth: int

    @property
    def layer_dims(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every affine layer, input to output."""
        dims = [1] + [self.width] * self.depth + [1]
        return list(zip(dims[:-1], dims[1:]))

    @property
    def n_params(self) -> int:
        """Number of scalars in the flat parameter vector."""
        return sum(fi * fo + fo for fi, fo in self.layer_dims)


def init_mlp(spec: MLPSpec, generator: torch.Generator) -> torch.Tensor:
    """Flat float64 parameter vector: Xavier-uniform weights, zero biases.

    Layout per layer: ``W`` (fan_out × fan_in, row-major), then ``b`` (fan_out).
    """
    chunks: list[torch.Tensor] = []
    for fan_in, fan_out in spec.layer_dims:
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = (torch.rand(fan_out * fan_in, generator=generator, dtype=DTYPE) * 2 - 1) * bound
        chunks += [w, torch.zeros(fan_out, dtype=DTYPE)]
    return torch.cat(chunks)


def mlp_scalar(theta: torch.Tensor, spec: MLPSpec, x: torch.Tensor) -> torch.Tensor:
    """Network value at a single point ``x ∈ [0, 1]`` (0-d tensor); input mapped to 2x − 1."""
    return mlp_values(_unpack(theta, spec), (2.0 * x - 1.0).reshape(1, 1))[0, 0]


def _unpack(theta: torch.Tensor, spec: MLPSpec) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out = []
    offset = 0
    for fan_in, fan_out in spec.layer_dims:
        w = theta[offset : offset + fan_in * fan_out].reshape(fan_out, fan_in)
        offset += fan_in * fan_out
        out.append((w, theta[offset : offset + fan_out]))
        offset += fan_out
    return out


def field_derivatives(
    theta: torch.Tensor, spec: MLPSpec, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(f, f', f'') of the network at the points ``x`` (1-D tensor), d/dx in physical x.

    The Taylor-mode jets of eofpinn's MLP (networks.mlp_jets) on a line:
    the input jet of ξ = 2x − 1 is (ξ, 2, 0). Differentiable in ``theta`` (plain autograd /
    torch.func), and checked against nested autograd and finite differences in the tests.
    """
    z = (2.0 * x - 1.0)[:, None]
    out = mlp_jets(_unpack(theta, spec), torch.stack((z, torch.full_like(z, 2.0), torch.zeros_like(z))))
    return out[0, :, 0], out[1, :, 0], out[2, :, 0]


def field_derivatives_autograd(
    theta: torch.Tensor, spec: MLPSpec, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Same as :func:`field_derivatives` by nested ``torch.func.grad`` of
    :func:`mlp_scalar` (slower; kept as an independent reference)."""

    def f(th: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        return mlp_scalar(th, spec, xx)

    d1 = grad(f, argnums=1)
    d2 = grad(d1, argnums=1)
    return (
        vmap(f, in_dims=(None, 0))(theta, x),
        vmap(d1, in_dims=(None, 0))(theta, x),
        vmap(d2, in_dims=(None, 0))(theta, x),
    )


def _interior_points(n_points: int, points: Sequence[float] | None = None) -> torch.Tensor:
    """Interior collocation points: ``points`` if given (then ``n_points`` is ignored), else
    ``n_points`` uniformly spaced points ``i/(N+1)``, i = 1..N."""
    if points is not None:
        return torch.as_tensor(list(points), dtype=DTYPE)
    return torch.arange(1, n_points + 1, dtype=DTYPE) / (n_points + 1)


def _init_blocks(
    n_blocks: int, width: int, depth: int, seed: int
) -> tuple[MLPSpec, torch.Tensor, list[slice]]:
    spec = MLPSpec(width=width, depth=depth)
    gen = torch.Generator().manual_seed(seed)
    thetas = [init_mlp(spec, gen) for _ in range(n_blocks)]
    p = spec.n_params
    slices = [slice(s * p, (s + 1) * p) for s in range(n_blocks)]
    return spec, torch.cat(thetas), slices


def _jacobian(residual: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
    return jacrev(residual)(theta).detach()


# ----------------------------------------------------------------------------------------
# Residual Jacobians
# ----------------------------------------------------------------------------------------
def thermoelastic_residual_jacobian(
    gamma: float,
    n_points: int = 16,
    width: int = 32,
    depth: int = 2,
    seed: int = 0,
    kappa: float = 1.0,
    young: float = 1.0,
    points: Sequence[float] | None = None,
) -> tuple[torch.Tensor, list[slice]]:
    """Jacobian of the stacked residual of the 1D thermoelasticity PINN.

    Residual vector (length ``M = 2N + 4``), in this order:
    ``[−κT''(x_i) − f_T(x_i)]_{i<N}``, ``[−E u''(x_i) + γ T'(x_i) − f_u(x_i)]_{i<N}``,
    ``T(0), T(1), u(0), u(1)``.  The forcing (manufactured from T = u = sin πx) does not
    enter ``J`` since the residual is affine in the fields.

    Returns ``(J, block_slices)`` with ``J`` of shape ``(M, 2·P_block)`` (float64) and the
    column slices of the T block and the u block.  The same ``seed`` gives the same
    parameters for every ``gamma``.
    """
    spec, theta0, slices = _init_blocks(2, width, depth, seed)
    x = _interior_points(n_points, points)
    ends = torch.tensor([0.0, 1.0], dtype=DTYPE)
    pi = math.pi
    f_t = kappa * pi**2 * torch.sin(pi * x)
    f_u = young * pi**2 * torch.sin(pi * x) + gamma * pi * torch.cos(pi * x)

    def residual(theta: torch.Tensor) -> torch.Tensor:
        th_t, th_u = theta[slices[0]], theta[slices[1]]
        _, t1, t2 = field_derivatives(th_t, spec, x)
        _, _, u2 = field_derivatives(th_u, spec, x)
        t_b = field_derivatives(th_t, spec, ends)[0]
        u_b = field_derivatives(th_u, spec, ends)[0]
        return torch.cat([-kappa * t2 - f_t, -young * u2 + gamma * t1 - f_u, t_b, u_b])

    return _jacobian(residual, theta0), slices


def pnp_residual_jacobian(
    debye_ratio: float,
    zeta: float = 1.0,
    n_points: int = 16,
    width: int = 32,
    depth: int = 2,
    seed: int = 0,
    poisson_form: str = "eps2",
    points: Sequence[float] | None = None,
) -> tuple[torch.Tensor, list[slice]]:
    """Jacobian (at initialisation) of the stacked residual of the 1D PNP PINN, S = 3.

    ``debye_ratio`` is ε.  Residual vector (length ``M = 3N + 6``), in this order:
    Poisson ``[ε²φ'' + (c₊ − c₋)/2]`` (``poisson_form="eps2"``) or
    ``[φ'' + (c₊ − c₋)/(2ε²)]`` (``"inv_eps2"``), then
    ``[c₊'' + c₊'φ' + c₊φ'']``, ``[c₋'' − c₋'φ' − c₋φ'']`` at the N interior points, then
    ``φ(0) − ζ, φ(1) − ζ, c₊(0) − e^{−ζ}, c₊(1) − e^{−ζ}, c₋(0) − e^{ζ}, c₋(1) − e^{ζ}``.
    Blocks (column slices) in the order φ, c₊, c₋.
    """
    if poisson_form not in ("eps2", "inv_eps2"):
        raise ValueError(f"poisson_form must be 'eps2' or 'inv_eps2', got {poisson_form!r}")
    spec, theta0, slices = _init_blocks(3, width, depth, seed)
    y = _interior_points(n_points, points)
    ends = torch.tensor([0.0, 1.0], dtype=DTYPE)
    eps2 = debye_ratio**2
    c_wall_p, c_wall_m = math.exp(-zeta), math.exp(zeta)

    def residual(theta: torch.Tensor) -> torch.Tensor:
        th_phi, th_p, th_m = (theta[s] for s in slices)
        _, phi1, phi2 = field_derivatives(th_phi, spec, y)
        cp, cp1, cp2 = field_derivatives(th_p, spec, y)
        cm, cm1, cm2 = field_derivatives(th_m, spec, y)
        if poisson_form == "eps2":
            r_pois = eps2 * phi2 + 0.5 * (cp - cm)
        else:
            r_pois = phi2 + 0.5 * (cp - cm) / eps2
        r_np_p = cp2 + cp1 * phi1 + cp * phi2
        r_np_m = cm2 - cm1 * phi1 - cm * phi2
        phi_b = field_derivatives(th_phi, spec, ends)[0] - zeta
        cp_b = field_derivatives(th_p, spec, ends)[0] - c_wall_p
        cm_b = field_derivatives(th_m, spec, ends)[0] - c_wall_m
        return torch.cat([r_pois, r_np_p, r_np_m, phi_b, cp_b, cm_b])

    return _jacobian(residual, theta0), slices


# ----------------------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------------------
def ntk_max_eigenvalue(J: torch.Tensor) -> float:
    """``λ_max(J Jᵀ) = σ_max(J)²``."""
    return float(torch.linalg.svdvals(J)[0] ** 2)


def _range_basis(J_s: torch.Tensor, rcond: float) -> torch.Tensor:
    """Orthonormal basis of the numerical range of ``J_s``: left singular vectors with
    ``σ > rcond · σ_max`` (empty if ``J_s`` is zero)."""
    u, s, _ = torch.linalg.svd(J_s, full_matrices=False)
    if s.numel() == 0 or s[0] == 0:
        return u[:, :0]
    return u[:, s > rcond * s[0]]


def block_projectors(J: torch.Tensor, block_slices: Sequence[slice], rcond: float = 1e-10) -> list[torch.Tensor]:
    """``P_s = J_s (J_sᵀJ_s)⁺ J_sᵀ = U_{s,r} U_{s,r}ᵀ`` for each block (M × M).

    The pseudo-inverse keeps the singular values of ``J_s`` above ``rcond · σ_max(J_s)``
    (equivalently eigenvalues of ``J_sᵀJ_s`` above ``rcond² · λ_max``).
    """
    out = []
    for sl in block_slices:
        u = _range_basis(J[:, sl], rcond)
        out.append(u @ u.T)
    return out


def block_ranks(J: torch.Tensor, block_slices: Sequence[slice], rcond: float = 1e-10) -> list[int]:
    """Numerical rank of each ``J_s`` with the same relative cutoff."""
    return [int(_range_basis(J[:, sl], rcond).shape[1]) for sl in block_slices]


def preconditioned_ntk(J: torch.Tensor, block_slices: Sequence[slice], rcond: float = 1e-10) -> torch.Tensor:
    """``K_P = Σ_s J_s (J_sᵀJ_s)⁺ J_sᵀ`` (a sum of orthogonal projectors)."""
    return sum(block_projectors(J, block_slices, rcond))  # type: ignore[return-value]


def preconditioned_ntk_max_eigenvalue(
    J: torch.Tensor, block_slices: Sequence[slice], rcond: float = 1e-10
) -> float:
    """``λ_max(K_P)``; always in ``[0, S]`` up to rounding."""
    kp = preconditioned_ntk(J, block_slices, rcond)
    return float(torch.linalg.eigvalsh(0.5 * (kp + kp.T))[-1])


def min_principal_angle_cos(
    J: torch.Tensor, block_slices: Sequence[slice], rcond: float = 1e-10
) -> float:
    """``cos θ_min = σ_max(U_1ᵀU_2)`` between the ranges of the two blocks (S = 2 only);
    ``λ_max(K_P) = 1 + cos θ_min`` then."""
    if len(block_slices) != 2:
        raise ValueError("principal angle defined here for two blocks only")
    u1, u2 = (_range_basis(J[:, sl], rcond) for sl in block_slices)
    if u1.shape[1] == 0 or u2.shape[1] == 0:
        return 0.0
    return float(torch.linalg.svdvals(u1.T @ u2)[0])


def thermoelastic_kp_estimate(gamma: float, n_points: int) -> float:
    """``1 + (1 + 1/(2Nγ²))^{-1/2} ≈ 2 − 1/(4Nγ²)``: ``1 + cos`` of the angle between the
    residual directions of a linear T (T(0) = −T(1)) and a quadratic u with zero wall values
    (both ``∝`` the all-ones vector on the u-equation rows).  When both lie in the numerical
    ranges (they are the smoothest directions, so they do), ``λ_max(K_P)`` is at least about
    this; it is the value observed when the ranges do not intersect (many points)."""
    return 1.0 + (1.0 + 1.0 / (2.0 * n_points * gamma**2)) ** -0.5


def pnp_init_wronskian(
    n_points: int = 16,
    width: int = 32,
    depth: int = 2,
    seed: int = 0,
    points: Sequence[float] | None = None,
) -> torch.Tensor:
    """``W = c₊'c₋ − c₊c₋'`` of the initial c± networks (same seed/layout as
    :func:`pnp_residual_jacobian`) at the interior points; where ``W(y_i) = 0`` the φ block
    can move the Poisson row at ``y_i`` alone, allowing ``λ_max(K_P) = 3``."""
    spec, theta, slices = _init_blocks(3, width, depth, seed)
    y = _interior_points(n_points, points)
    with torch.no_grad():
        cp, cp1, _ = field_derivatives(theta[slices[1]], spec, y)
        cm, cm1, _ = field_derivatives(theta[slices[2]], spec, y)
    return cp1 * cm - cp * cm1


def fit_loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``."""
    lx = torch.log(torch.tensor(list(xs), dtype=DTYPE))
    ly = torch.log(torch.tensor(list(ys), dtype=DTYPE))
    lx_c = lx - lx.mean()
    return float((lx_c * (ly - ly.mean())).sum() / (lx_c * lx_c).sum())


# ----------------------------------------------------------------------------------------
# Sweeps
# ----------------------------------------------------------------------------------------
def _kernel_row(J: torch.Tensor, slices: Sequence[slice], rcond: float) -> dict:
    ranks = block_ranks(J, slices, rcond)
    nonzero_rows = [int((J[:, sl].abs().amax(dim=1) > 0).sum()) for sl in slices]
    return {
        "n_residuals": int(J.shape[0]),
        "params_per_block": int(slices[0].stop - slices[0].start),
        "block_ranks": ranks,
        "block_nonzero_rows": nonzero_rows,
        "lambda_max_K": ntk_max_eigenvalue(J),
        "lambda_max_KP": preconditioned_ntk_max_eigenvalue(J, slices, rcond),
        "S": len(slices),
    }


def thermoelastic_sweep(
    gammas: Sequence[float],
    n_points: int = 16,
    width: int = 32,
    depth: int = 2,
    seed: int = 0,
    rcond: float = 1e-10,
    kappa: float = 1.0,
    young: float = 1.0,
    points: Sequence[float] | None = None,
) -> list[dict]:
    """One row per γ: λ_max(K), λ_max(K)/γ², λ_max(K_P), 1 + cos θ_min, block ranks."""
    rows = []
    for gamma in gammas:
        J, slices = thermoelastic_residual_jacobian(
            gamma, n_points, width, depth, seed, kappa, young, points
        )
        n_int = n_points if points is None else len(points)
        row = {"system": "thermoelastic", "gamma": float(gamma), "coupling": float(gamma),
               "n_points": n_int, "width": width, "depth": depth, "seed": seed, "rcond": rcond}
        row.update(_kernel_row(J, slices, rcond))
        row["lambda_max_K_over_coupling2"] = row["lambda_max_K"] / gamma**2
        row["one_plus_cos_min_angle"] = 1.0 + min_principal_angle_cos(J, slices, rcond)
        row["kp_estimate_linear_T_quadratic_u"] = thermoelastic_kp_estimate(gamma, n_int)
        rows.append(row)
    return rows


def pnp_sweep(
    debye_ratios: Sequence[float],
    zeta: float = 1.0,
    n_points: int = 16,
    width: int = 32,
    depth: int = 2,
    seed: int = 0,
    rcond: float = 1e-10,
    poisson_form: str = "eps2",
    points: Sequence[float] | None = None,
) -> list[dict]:
    """One row per ε: λ_max(K), λ_max(K)·ε⁴ (= λ/γ² with γ = 1/ε²), λ_max(K_P), ranks."""
    rows = []
    for eps in debye_ratios:
        J, slices = pnp_residual_jacobian(
            eps, zeta, n_points, width, depth, seed, poisson_form, points
        )
        n_int = n_points if points is None else len(points)
        row = {"system": "pnp", "poisson_form": poisson_form, "epsilon": float(eps),
               "coupling": 1.0 / eps**2, "zeta": zeta, "n_points": n_int, "width": width,
               "depth": depth, "seed": seed, "rcond": rcond}
        row.update(_kernel_row(J, slices, rcond))
        row["lambda_max_K_over_coupling2"] = row["lambda_max_K"] * eps**4
        w = pnp_init_wronskian(n_points, width, depth, seed, points)
        row["min_abs_wronskian_at_points"] = float(w.abs().min())
        rows.append(row)
    return rows
