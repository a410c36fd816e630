"""Damped Newton iteration on the fully coupled discrete system.

Each step assembles the exact sparse Jacobian (jacobian.py), equilibrates its rows (each row
divided by its largest entry, so the Poisson, Nernst–Planck and Stokes rows — whose sizes
differ by up to ~1/ε² — weigh alike) and solves J δ = −F. The sparse LU (linear.py) is the
expensive part, so a factorisation is kept and reused: later steps solve with GMRES
preconditioned by the old factors (a few iterations while the Jacobian changes little) and
refactor only when GMRES does not reach 10⁻⁸ within 20 iterations. The step is then damped,
α = 1, ½, ¼, …, until the row-scaled residual 2-norm drops (Armijo). Newton stops when the
step is below `tolerance` relative to each field's size. Nothing partial is ever returned: a
failure raises `SolverError` with the last residual norm and iteration count.
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
KRYLOV_TOLERANCE = 1e-8
KRYLOV_ITERATIONS = 20


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


def _solve_step(jac, f, dp: DiscreteProblem, kept: ReusedFactorisation | None, result: NewtonResult):
    """Newton step δ = −J⁻¹F and the factorisation to keep for the next step."""
    if kept is not None:
        matrix = sp.diags(kept.row_scale) @ jac
        rhs = -kept.row_scale * f
        preconditioner = spla.LinearOperator(matrix.shape, kept.factors.solve)
        count = [0]
        step, info = spla.gmres(matrix, rhs, M=preconditioner, rtol=KRYLOV_TOLERANCE, atol=0.0,
                                restart=KRYLOV_ITERATIONS, maxiter=1,
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
    z, kept = result.z, None
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
        step, kept = _solve_step(jac, f, dp, kept, result)
        result.linear_solve_s += time.perf_counter() - tic
        result.iterations = iteration
        alpha = _damping(dp, z, step, norm, row_scale, tolerance)
        if alpha == 0.0 and result.factorisations == factorisations:
            step, kept = _solve_step(jac, f, dp, None, result)  # a stale-factor step failed: refactor
            alpha = _damping(dp, z, step, norm, row_scale, tolerance)
        if alpha == 0.0:
            break
        z = z + alpha * step
        change = alpha * relative_step(dp, z, step)
        if progress is not None:
            progress(f"{label}Newton {iteration}: residual {norm:.3e}, step {change:.3e}, damping {alpha:g}")
        if change <= tolerance:
            result.z = z
            result.residual_history.append(_scaled_norm(dp, z, row_scale))
            return result
    raise SolverError(
        f"FD Newton did not converge after {result.iterations} iterations "
        f"(last scaled residual norm {result.residual_history[-1]:.3e}, tolerance {tolerance:g}); "
        "try more [fd] max_newton, continuation_steps, or a finer grid"
    )


def _damping(dp: DiscreteProblem, z, step, norm: float, row_scale, tolerance: float) -> float:
    # Once the full step is below tolerance the residual is at round-off: take it.
    if relative_step(dp, z, step) <= tolerance:
        return 1.0
    return _line_search(dp, z, step, norm, row_scale)


def _line_search(dp: DiscreteProblem, z, step, norm: float, row_scale) -> float:
    """Largest α = 2^−k with ‖F(z + α δ)‖ ≤ (1 − 10⁻⁴ α) ‖F(z)‖, or 0 if none."""
    alpha = 1.0
    for _ in range(MAX_HALVINGS):
        trial = _scaled_norm(dp, z + alpha * step, row_scale)
        if trial <= (1.0 - ARMIJO * alpha) * norm or trial < 1e-13:
            return alpha
        alpha *= 0.5
    return 0.0
