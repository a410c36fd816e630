"""Damped inexact Newton iteration on the fully coupled discrete system.

Each step assembles the exact sparse Jacobian (jacobian.py), equilibrates its rows (each row
divided by its largest entry, so the Poisson, Nernst–Planck and Stokes rows — whose sizes
differ by up to ~1/ε² — weigh alike) and solves J δ = −F. The sparse LU (linear.py) is the
expensive part, so a factorisation is kept and reused: later steps solve with GMRES
preconditioned by the old factors and refactor only when GMRES (restarted every 20 iterations,
at most 3 cycles) does not reach its tolerance. That tolerance is a forcing term
η = min(0.1, max(10⁻¹⁰, 0.1‖F‖))
(inexact Newton, Eisenstat & Walker): loose while the residual is large, tight near the
solution, so convergence stays quadratic where it matters and the stale factors suffice for
many more steps.

Damping, α = 1, ½, ¼, …: a step is accepted when the row-scaled residual 2-norm drops
(Armijo) or, failing that, when it passes Deuflhard's natural monotonicity test — the
simplified Newton correction δ̄ = −J⁻¹F(z + αδ), formed with the factors at hand, is smaller
than δ in the field-scaled RMS norm (the restricted test, (1 − α/4)δ, rejected the full first
step from a 128 → 256 prolongation, Θ = 0.93, and cost an extra step and LU). The second test is affine invariant: from a
grid-sequenced start the residual of the exponential Boltzmann terms near a ζ̂ jump often
rises on the full step that Newton needs, and Armijo alone would damp it several times.
Newton stops when the step is below `tolerance` relative to each field's size, or when the
contraction of two full steps predicts that the next one would be. Nothing
partial is ever returned: a failure raises `SolverError` with the last residual norm and
iteration count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from eofpinn.solvers.fd.linear import Factorisation

from eofpinn.errors import SolverError
from eofpinn.solvers.fd.jacobian import JacobianAssembler
from eofpinn.solvers.fd.layout import FIELD_BLOCKS
from eofpinn.solvers.fd.residual import DiscreteProblem, residual

MAX_HALVINGS = 12
ARMIJO = 1e-4
# The gauge rows are dense; weighted down they never win SuperLU's threshold pivoting, which
# would otherwise copy them into U and fill the whole factor (x10 memory at 16 x 160).
GAUGE_ROW_WEIGHT = 1e-5
KRYLOV_ITERATIONS = 20
KRYLOV_RESTARTS = 3
FORCING = (1e-10, 0.1, 1e-1)  # η = min(η_max, max(η_min, factor · ‖F‖))


@dataclass
class NewtonResult:
    z: np.ndarray
    iterations: int
    residual_history: list[float] = field(default_factory=list)
    linear_solve_s: float = 0.0
    jacobian_s: float = 0.0
    factorisations: int = 0
    krylov_iterations: int = 0


@dataclass
class ReusedFactorisation:
    """LU factors of a row-scaled Jacobian, and that row scaling (reused with later Jacobians)."""

    factors: Factorisation
    row_scale: np.ndarray


def forcing_term(norm: float) -> float:
    """Relative tolerance of an iterative Newton solve at scaled residual norm `norm`."""
    low, factor, high = FORCING
    return min(high, max(low, factor * norm))


def _solve_step(jac, f, norm: float, dp: DiscreteProblem, kept: ReusedFactorisation | None,
                result: NewtonResult):
    """Newton step δ ≈ −J⁻¹F and the factorisation to keep for the next step."""
    if kept is not None:
        matrix = sp.diags(kept.row_scale) @ jac
        rhs = -kept.row_scale * f
        preconditioner = spla.LinearOperator(matrix.shape, kept.factors.solve)
        count = [0]
        step, info = spla.gmres(matrix, rhs, M=preconditioner, rtol=forcing_term(norm), atol=0.0,
                                restart=KRYLOV_ITERATIONS, maxiter=KRYLOV_RESTARTS,
                                callback=lambda _: count.__setitem__(0, count[0] + 1), callback_type="pr_norm")
        result.krylov_iterations += count[0]
        if info == 0:
            return step, kept
    row_scale = 1.0 / np.maximum(abs(jac).max(axis=1).toarray().ravel(), 1e-300)
    row_scale[dp.layout.n_field_unknowns:] *= GAUGE_ROW_WEIGHT
    factors = Factorisation(sp.csc_matrix(sp.diags(row_scale) @ jac), dp.layout)
    result.factorisations += 1
    return factors.solve(-row_scale * f), ReusedFactorisation(factors, row_scale)


def relative_step(dp: DiscreteProblem, z: np.ndarray, step: np.ndarray) -> float:
    """max over fields of |δ| / max(1, |field|)."""
    z_f, s_f = dp.layout.unpack(z), dp.layout.unpack(step)
    return max(float(np.max(np.abs(s_f[k])) / max(1.0, np.max(np.abs(z_f[k])))) for k in FIELD_BLOCKS)


def _scaled_norm(dp: DiscreteProblem, z: np.ndarray, row_scale: np.ndarray) -> float:
    f = residual(z, dp)
    value = float(np.linalg.norm(row_scale * f))
    return value if np.isfinite(value) else np.inf


def newton(
    dp: DiscreteProblem,
    z0: np.ndarray,
    max_iterations: int,
    tolerance: float,
    progress: Callable[[str], None] | None = None,
    label: str = "",
) -> NewtonResult:
    assemble = JacobianAssembler(dp.layout.size)
    result = NewtonResult(z=z0.copy(), iterations=0)
    z, kept, previous_change = result.z, None, np.inf
    for iteration in range(1, max_iterations + 1):
        tic = time.perf_counter()
        f, jac = assemble(dp, z)
        result.jacobian_s += time.perf_counter() - tic
        row_scale = 1.0 / np.maximum(abs(jac).max(axis=1).toarray().ravel(), 1e-300)
        norm = float(np.linalg.norm(row_scale * f))
        result.residual_history.append(norm)
        if not np.isfinite(norm):
            break
        tic = time.perf_counter()
        factorisations = result.factorisations
        step, kept = _solve_step(jac, f, norm, dp, kept, result)
        result.linear_solve_s += time.perf_counter() - tic
        result.iterations = iteration
        alpha = _damping(dp, z, step, norm, row_scale, tolerance, kept)
        if alpha == 0.0 and result.factorisations == factorisations:
            step, kept = _solve_step(jac, f, norm, dp, None, result)  # a stale-factor step failed: refactor
            alpha = _damping(dp, z, step, norm, row_scale, tolerance, kept)
        if alpha == 0.0:
            break
        z = z + alpha * step
        change = alpha * relative_step(dp, z, step)
        if progress is not None:
            progress(f"{label}Newton {iteration}: residual {norm:.3e}, step {change:.3e}, damping {alpha:g}")
        if change <= tolerance or (alpha == 1.0 and _next_step_below(change, previous_change, tolerance)):
            result.z = z
            result.residual_history.append(_scaled_norm(dp, z, row_scale))
            return result
        previous_change = change if alpha == 1.0 else np.inf
    raise SolverError(
        f"FD Newton did not converge after {result.iterations} iterations "
        f"(last scaled residual norm {result.residual_history[-1]:.3e}, tolerance {tolerance:g}); "
        "try more [fd] max_newton, continuation_steps, or a finer grid"
    )


def _next_step_below(change: float, previous_change: float, tolerance: float) -> bool:
    """Whether the next Newton correction, estimated from the contraction of the last two full
    steps, Θ = ‖δ_k‖/‖δ_{k−1}‖ < 0.1, as Θ‖δ_k‖ (Deuflhard), is already below `tolerance`."""
    contraction = change / previous_change
    return np.isfinite(previous_change) and contraction < 0.1 and contraction * change <= tolerance


def _damping(dp: DiscreteProblem, z, step, norm: float, row_scale, tolerance: float,
             kept: ReusedFactorisation) -> float:
    # Once the full step is below tolerance the residual is at round-off: take it.
    if relative_step(dp, z, step) <= tolerance:
        return 1.0
    return _line_search(dp, z, step, norm, row_scale, kept)


def field_scaled_rms(dp: DiscreteProblem, z: np.ndarray, v: np.ndarray) -> float:
    """RMS over all field unknowns of v / max(1, max |field|), field by field."""
    z_f, v_f = dp.layout.unpack(z), dp.layout.unpack(v)
    total = sum(float(np.sum((v_f[k] / max(1.0, np.max(np.abs(z_f[k])))) ** 2)) for k in FIELD_BLOCKS)
    return (total / dp.layout.n_field_unknowns) ** 0.5


def _line_search(dp: DiscreteProblem, z, step, norm: float, row_scale, kept: ReusedFactorisation) -> float:
    """Largest α = 2^−k passing Armijo, ‖F(z + αδ)‖ ≤ (1 − 10⁻⁴ α)‖F(z)‖, or the natural
    monotonicity test ‖δ̄(α)‖ < ‖δ‖; 0 if none does."""
    alpha, step_size = 1.0, field_scaled_rms(dp, z, step)
    for _ in range(MAX_HALVINGS):
        trial_z = z + alpha * step
        f = residual(trial_z, dp)
        trial = float(np.linalg.norm(row_scale * f))
        if np.isfinite(trial):
            if trial <= (1.0 - ARMIJO * alpha) * norm or trial < 1e-13:
                return alpha
            simplified = kept.factors.solve(-kept.row_scale * f)
            if field_scaled_rms(dp, trial_z, simplified) < step_size:
                return alpha
        alpha *= 0.5
    return 0.0
