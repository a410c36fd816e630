"""Exact solution for fully developed flow in a straight channel (physics.md §4).

With uniform ζ̂ on both walls and a uniform applied field Ê the 2D system reduces to the
nonlinear Poisson–Boltzmann problem

    ε² ψ'' = sinh ψ,   ψ(0) = ζ̂_bottom,  ψ(1) = ζ̂_top,

and every other field follows in closed form:

    φ = ψ(y) + Ê (ℓ − x)          (total potential, applied part zero at the outlet x = ℓ)
    c± = exp(∓ψ)
    u = Ê (ψ − ζ̂) + u_P(y),  u_P = Δp̂ y (1 − y) / (2ℓ),   v = 0
    P = Δp̂ (1 − x/ℓ)               (excess pressure, gauge: P = 0 at the outlet)
    p = P + Π,   Π = (c₊ + c₋ − 2)/(2ε²) = (cosh ψ − 1)/ε²   (full model; paper model: p = P)

The profile is solved with scipy's collocation BVP solver (4th order) on a wall-refined mesh
at a residual tolerance of 1e-10; the first integral ε² ψ'²/2 − cosh ψ = const then holds to
~1e-13 relative and the values agree with a 1e-8-tolerance solve to ~1e-10 (tests). It is never
taken from a truncated series. Walls with unequal
potentials (reservoir ends of a ζ-step case) use the same solver.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.integrate import solve_bvp

from eofpinn.cases.model import Problem
from eofpinn.errors import SolverError, UnsupportedCaseError

BVP_TOLERANCE = 1e-10


@dataclass(frozen=True)
class Derivatives:
    """A field and the derivatives the residuals need: f, ∂f/∂x, ∂f/∂y, ∂²f/∂x², ∂²f/∂y².

    Works for numpy arrays and torch tensors alike.
    """

    f: object
    x: object
    y: object
    xx: object
    yy: object


def gouy_chapman(zeta_hat: float, distance: np.ndarray, debye_ratio: float) -> np.ndarray:
    """Single-wall Gouy–Chapman profile ψ = 4 artanh(tanh(ζ̂/4) e^{−d/ε})."""
    return 4.0 * np.arctanh(np.tanh(zeta_hat / 4.0) * np.exp(-np.asarray(distance) / debye_ratio))


def debye_hueckel(zeta_hat: float, y: np.ndarray, debye_ratio: float) -> np.ndarray:
    """Linearised (|ζ̂| ≪ 1) profile ψ = ζ̂ cosh((y − ½)/ε) / cosh(1/(2ε))."""
    y = np.asarray(y, dtype=float)
    # Written with exponentials of non-positive arguments so thin layers do not overflow.
    a = 1.0 / (2.0 * debye_ratio)
    s = (y - 0.5) / debye_ratio
    return zeta_hat * (np.exp(np.abs(s) - a) + np.exp(-np.abs(s) - a)) / (1.0 + np.exp(-2.0 * a))


def _gouy_chapman_slope(zeta_hat: float, distance: np.ndarray, debye_ratio: float) -> np.ndarray:
    t = np.tanh(zeta_hat / 4.0) * np.exp(-distance / debye_ratio)
    return -4.0 * t / (debye_ratio * (1.0 - t * t))


def _wall_refined_mesh(debye_ratio: float, n: int = 400) -> np.ndarray:
    """Nodes in [0, 1] crowded into a few Debye lengths of each wall."""
    s = np.linspace(-1.0, 1.0, n)
    stretch = max(1.0, np.log(0.5 / debye_ratio) + 1.0)
    half = np.sinh(stretch * np.abs(s)) / np.sinh(stretch)
    return np.unique(0.5 + 0.5 * np.sign(s) * half)


@lru_cache(maxsize=64)
def _pb_solution(debye_ratio: float, zeta_bottom: float, zeta_top: float):
    eps2 = debye_ratio**2
    mesh = _wall_refined_mesh(debye_ratio)
    guess = np.vstack(
        [
            gouy_chapman(zeta_bottom, mesh, debye_ratio) + gouy_chapman(zeta_top, 1 - mesh, debye_ratio),
            _gouy_chapman_slope(zeta_bottom, mesh, debye_ratio)
            - _gouy_chapman_slope(zeta_top, 1 - mesh, debye_ratio),
        ]
    )

    def rhs(_y, z):
        return np.vstack([z[1], np.sinh(z[0]) / eps2])

    def jac(_y, z):
        n = z.shape[1]
        d = np.zeros((2, 2, n))
        d[0, 1] = 1.0
        d[1, 0] = np.cosh(z[0]) / eps2
        return d

    def bc(za, zb):
        return np.array([za[0] - zeta_bottom, zb[0] - zeta_top])

    # On a layer too thin for the mesh (ε ≲ 1e-4) trial iterates overflow sinh/cosh: expected,
    # and reported below as one SolverError rather than a screen of numpy warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        sol = solve_bvp(rhs, bc, mesh, guess, fun_jac=jac, tol=BVP_TOLERANCE, bc_tol=1e-13, max_nodes=400_000)
    if not sol.success:
        raise SolverError(
            f"Poisson–Boltzmann profile did not converge for ε = {debye_ratio}, "
            f"ζ̂ = ({zeta_bottom}, {zeta_top}): {sol.message}"
        )
    return sol


def poisson_boltzmann(
    y: np.ndarray, debye_ratio: float, zeta_bottom: float, zeta_top: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """ψ(y) and ψ'(y) of ε² ψ'' = sinh ψ with ψ(0) = ζ̂_bottom, ψ(1) = ζ̂_top (default: equal)."""
    zeta_top = zeta_bottom if zeta_top is None else zeta_top
    y = np.asarray(y, dtype=float)
    if np.any((y < -1e-12) | (y > 1 + 1e-12)):
        raise ValueError("poisson_boltzmann: y must lie in [0, 1]")
    if zeta_bottom == 0.0 and zeta_top == 0.0:
        return np.zeros_like(y), np.zeros_like(y)
    sol = _pb_solution(float(debye_ratio), float(zeta_bottom), float(zeta_top))
    values = sol.sol(np.clip(y.ravel(), 0.0, 1.0))
    return values[0].reshape(y.shape), values[1].reshape(y.shape)


def _require_straight(problem: Problem) -> float:
    zeta = problem.uniform_zeta
    if zeta is None:
        raise UnsupportedCaseError(
            "the exact solution needs one uniform zeta on both walls (physics.md §4); "
            "this case has a zeta pattern: use --solver fd"
        )
    return zeta


def exact_derivatives(problem: Problem, x: np.ndarray, y: np.ndarray) -> dict[str, Derivatives]:
    """Exact ψ, c₊, c₋, u, v, P with first and second derivatives at points (x, y)."""
    zeta = _require_straight(problem)
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    eps2 = problem.debye_ratio**2
    field, ell, dp = problem.field_hat, problem.length_ratio, problem.pressure_drop_hat
    zeros = np.zeros_like(y)

    psi, psi_y = poisson_boltzmann(y, problem.debye_ratio, zeta)
    psi_yy = np.sinh(psi) / eps2
    out = {"psi": Derivatives(psi, zeros, psi_y, zeros, psi_yy)}
    for name, sign in (("c_plus", 1.0), ("c_minus", -1.0)):
        c = np.exp(-sign * psi)
        out[name] = Derivatives(c, zeros, -sign * psi_y * c, zeros, (psi_y**2 - sign * psi_yy) * c)
    pressure_gradient = dp / ell
    u = field * (psi - zeta) + 0.5 * pressure_gradient * y * (1 - y)
    u_y = field * psi_y + 0.5 * pressure_gradient * (1 - 2 * y)
    u_yy = field * psi_yy - pressure_gradient
    out["u"] = Derivatives(u, zeros, u_y, zeros, u_yy)
    out["v"] = Derivatives(zeros, zeros, zeros, zeros, zeros)
    out["P"] = Derivatives(dp * (1 - x / ell), -pressure_gradient + zeros, zeros, zeros, zeros)
    return out


def osmotic_pressure(problem: Problem, c_plus, c_minus):
    """Π = (c₊ + c₋ − 2)/(2ε²); zero in the paper model (physics.md §3)."""
    if problem.paper_model:
        return 0.0 * c_plus
    return (c_plus + c_minus - 2.0) / (2.0 * problem.debye_ratio**2)


def exact_fields(problem: Problem, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Exact fields on points (x, y) (broadcast): psi, phi, c_plus, c_minus, u, v, p."""
    d = exact_derivatives(problem, x, y)
    x = np.broadcast_to(np.asarray(x, float), d["psi"].f.shape)
    fields = {
        "psi": d["psi"].f,
        "phi": d["psi"].f + problem.field_hat * (problem.length_ratio - x),
        "c_plus": d["c_plus"].f,
        "c_minus": d["c_minus"].f,
        "u": d["u"].f,
        "v": d["v"].f,
    }
    fields["p"] = d["P"].f + osmotic_pressure(problem, fields["c_plus"], fields["c_minus"])
    return fields


def reservoir_profile(problem: Problem, end: str, y: np.ndarray) -> np.ndarray:
    """ψ_eq(y) at x = 0 (end="inlet") or x = ℓ ("outlet") for that end's wall potentials."""
    x_end = 0.0 if end == "inlet" else problem.length_ratio
    zb = float(problem.zeta_wall("bottom", np.array([x_end]))[0])
    zt = float(problem.zeta_wall("top", np.array([x_end]))[0])
    return poisson_boltzmann(y, problem.debye_ratio, zb, zt)[0]
