"""Exact solution for fully developed flow in a straight channel (physics.md §4, §7).

With one uniform condition on each wall (a ζ̂ or a charge σ̂) and a uniform applied field Ê the
2D system reduces to the nonlinear Poisson–Boltzmann problem

    ε² ψ'' = −(c₊ − c₋)/(ẑ₊ − ẑ₋),  c± = exp(−ẑ± ψ)      (symmetric salt: ε² ψ'' = sinh ψ)
    bottom: ψ(0) = ζ̂_bottom  or  −ψ'(0) = σ̂_bottom;   top: ψ(1) = ζ̂_top  or  ψ'(1) = σ̂_top

(−∂ψ/∂n = σ̂, n out of the wall into the fluid: physics.md §7), and every other field follows
in closed form, with ψ_b = ψ(0), ψ_t = ψ(1) the wall potentials (given or solved for):

    φ = ψ(y) + Ê (ℓ − x)          (total potential, applied part zero at the outlet x = ℓ)
    c± = exp(−ẑ± ψ)               (exp(∓ψ) for a symmetric salt)
    u = Ê (ψ − ψ_b (1 − y) − ψ_t y) + u_P(y),  u_P = Δp̂ y (1 − y) / (2ℓ),   v = 0
    P = Δp̂ (1 − x/ℓ)               (excess pressure, gauge: P = 0 at the outlet)
    p = P + Π,   Π = [(c₊ − 1)/ẑ₊ − (c₋ − 1)/ẑ₋]/((ẑ₊ − ẑ₋) ε²)   (z:z: (cosh ψ − 1)/ε²;
                                                                  paper model: p = P)

An open circuit (`Problem.open_circuit`) has Ê = −B/A from zero net current, Î = A Ê + B
(`open_circuit_field`).

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


def gouy_chapman(zeta_hat: float, distance: np.ndarray, debye_ratio: float,
                 valences: tuple[float, float] = (1.0, -1.0)) -> np.ndarray:
    """Single-wall Gouy–Chapman profile: the layer of ε² ψ'' = −(e^{−ẑ₊ψ} − e^{−ẑ₋ψ})/(ẑ₊ − ẑ₋)
    with ψ = ζ̂ at d = 0 that decays into the bulk, in closed form (`closed_layer`):
    4 artanh(tanh(ζ̂/4) e^{−d/ε}) for a z:z salt; for a 2:1 salt (ẑ = 2, −1)
    ψ = ln(1 + 4q + q²) − 2 ln(1 − q), q = K e^{−d/ε}, K = (s₀ − 1)/(s₀ + 1), s₀ = sqrt((2e^ζ̂ + 1)/3)
    (from the first integral (ε²/2) ψ'² = G(ψ), which in s = sqrt((2e^ψ + 1)/3) reads
    ds/dd = −(s² − 1)/(2ε)); for a 1:2 salt the 2:1 layer of −ζ̂, negated. Any other salt: its
    layer found numerically (physics/salt_layer.py)."""
    z_plus, z_minus = valences
    decay = np.exp(-np.asarray(distance, dtype=float) / debye_ratio)
    if z_plus == -z_minus:
        return 4.0 * np.arctanh(np.tanh(zeta_hat / 4.0) * decay)
    if (z_plus, z_minus) == (1.0, -2.0):
        return -gouy_chapman(-zeta_hat, distance, debye_ratio, (2.0, -1.0))
    if (z_plus, z_minus) != (2.0, -1.0):  # no closed form: the layer found numerically
        import torch

        from eofpinn.physics.salt_layer import layer_potential

        scaled = torch.as_tensor(np.asarray(distance, dtype=float) / debye_ratio)
        return layer_potential(torch.tensor(float(zeta_hat), dtype=torch.float64), scaled, valences)["f"].numpy()
    s0 = np.sqrt((2.0 * np.exp(zeta_hat) + 1.0) / 3.0)
    q = (s0 - 1.0) / (s0 + 1.0) * decay
    return np.log1p(q * (4.0 + q)) - 2.0 * np.log1p(-q)


def closed_layer(valences: tuple[float, float]) -> bool:
    """Whether `gouy_chapman` has the single-wall layer of these ẑ₊, ẑ₋ in closed form
    (z:z, 2:1 and 1:2 salts); the others' is found numerically."""
    z_plus, z_minus = valences
    return z_plus == -z_minus or (z_plus, z_minus) in ((2.0, -1.0), (1.0, -2.0))


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


def space_charge(psi, z_plus: float = 1.0, z_minus: float = -1.0):
    """−(c₊ − c₋)/(ẑ₊ − ẑ₋) of Boltzmann ions at ψ (= ε² ψ''), and its derivative in ψ;
    sinh ψ and cosh ψ for a symmetric salt."""
    if z_plus == -z_minus:
        return np.sinh(psi), np.cosh(psi)
    span = z_plus - z_minus
    # c₋ − c₊ through expm1: no cancellation as ψ → 0 in the bulk, where solve_bvp's relative
    # tolerance would otherwise chase the rounding error of two nearly equal exponentials.
    charge = np.expm1(-z_minus * psi) - np.expm1(-z_plus * psi)
    slope = z_plus * np.exp(-z_plus * psi) - z_minus * np.exp(-z_minus * psi)
    return charge / span, slope / span


def _layer_mesh(debye_ratio: float, n: int = 400) -> np.ndarray:
    """Nodes in [0, 1] crowded at both walls: wall distances 0.5 sinh(βt)/sinh(β), t ∈ [0, 1],
    β = log(0.5/ε) + 1, so the first spacing is a small fraction of ε.

    (`_wall_refined_mesh`, the first start of every solve, maps the same sinh from the channel
    centre and so crowds its nodes there; solve_bvp refines it where the layers need it, and the
    profiles it yields are kept as they are. This mesh is the fallback when that start fails for
    charge walls or a z₊:z₋ salt, as it does at ε ≲ 2e-4; ζ walls of a symmetric salt keep their
    old behaviour, failure at ε = 1e-4 included, which the fallback would turn into a solution.)"""
    t = np.linspace(0.0, 1.0, n // 2)
    stretch = max(1.0, np.log(0.5 / debye_ratio) + 1.0)
    distance = 0.5 * np.sinh(stretch * t) / np.sinh(stretch)
    return np.unique(np.concatenate([distance, 1.0 - distance]))


@lru_cache(maxsize=256)
def _pb_solution(debye_ratio: float, zeta_bottom: float, zeta_top: float, charge_bottom: float | None = None,
                 charge_top: float | None = None, valences: tuple[float, float] = (1.0, -1.0)):
    """The BVP solution; a charge wall (σ̂ not None) is a Neumann wall, its ζ̂ only the guess."""
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
        return np.vstack([z[1], space_charge(z[0], *valences)[0] / eps2])

    def jac(_y, z):
        n = z.shape[1]
        d = np.zeros((2, 2, n))
        d[0, 1] = 1.0
        d[1, 0] = space_charge(z[0], *valences)[1] / eps2
        return d

    def bc(za, zb):
        bottom = za[0] - zeta_bottom if charge_bottom is None else za[1] + charge_bottom  # −ψ'(0) = σ̂
        top = zb[0] - zeta_top if charge_top is None else zb[1] - charge_top  # +ψ'(1) = σ̂
        return np.array([bottom, top])

    # On a layer too thin for the mesh (ε ≲ 1e-4) trial iterates overflow sinh/cosh: expected,
    # and reported below as one SolverError rather than a screen of numpy warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        sol = solve_bvp(rhs, bc, mesh, guess, fun_jac=jac, tol=BVP_TOLERANCE, bc_tol=1e-13, max_nodes=400_000)
        new_walls = charge_bottom is not None or charge_top is not None or valences != (1.0, -1.0)
        if not sol.success and new_walls:  # a start crowded at the walls, where the layers are (_layer_mesh)
            mesh = _layer_mesh(debye_ratio)
            guess = np.vstack([gouy_chapman(zeta_bottom, mesh, debye_ratio) + gouy_chapman(zeta_top, 1 - mesh, debye_ratio),
                               _gouy_chapman_slope(zeta_bottom, mesh, debye_ratio)
                               - _gouy_chapman_slope(zeta_top, 1 - mesh, debye_ratio)])
            sol = solve_bvp(rhs, bc, mesh, guess, fun_jac=jac, tol=BVP_TOLERANCE, bc_tol=1e-13, max_nodes=400_000)
    if not sol.success:
        walls = ", ".join(f"{name} {'σ̂' if charge is not None else 'ζ̂'} = {charge if charge is not None else zeta}"
                          for name, zeta, charge in (("bottom", zeta_bottom, charge_bottom),
                                                     ("top", zeta_top, charge_top)))
        raise SolverError(f"Poisson–Boltzmann profile did not converge for ε = {debye_ratio}, {walls}: {sol.message}")
    return sol


def poisson_boltzmann(
    y: np.ndarray, debye_ratio: float, zeta_bottom: float, zeta_top: float | None = None,
    charge_bottom: float | None = None, charge_top: float | None = None,
    valences: tuple[float, float] = (1.0, -1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """ψ(y) and ψ'(y) of ε² ψ'' = −(c₊ − c₋)/(ẑ₊ − ẑ₋), c± = exp(−ẑ± ψ) (sinh ψ for a
    symmetric salt), with ψ(0) = ζ̂_bottom, ψ(1) = ζ̂_top (default: equal) — or, on a wall given a
    charge σ̂, −∂ψ/∂n = σ̂ (−ψ'(0) = σ̂_bottom, ψ'(1) = σ̂_top; its ζ̂ then only seeds the solver)."""
    zeta_top = zeta_bottom if zeta_top is None else zeta_top
    y = np.asarray(y, dtype=float)
    if np.any((y < -1e-12) | (y > 1 + 1e-12)):
        raise ValueError("poisson_boltzmann: y must lie in [0, 1]")
    charges = tuple(None if c is None else float(c) for c in (charge_bottom, charge_top))
    if zeta_bottom == 0.0 and zeta_top == 0.0 and all(c in (None, 0.0) for c in charges):
        return np.zeros_like(y), np.zeros_like(y)
    sol = _pb_solution(float(debye_ratio), float(zeta_bottom), float(zeta_top), *charges,
                       tuple(float(v) for v in valences))
    values = sol.sol(np.clip(y.ravel(), 0.0, 1.0))
    return values[0].reshape(y.shape), values[1].reshape(y.shape)


def wall_profile_1d(problem: Problem, y: np.ndarray, bottom, top) -> tuple[np.ndarray, np.ndarray]:
    """`poisson_boltzmann` for two wall segments (ZetaSegment or ChargeSegment) of `problem`."""
    return poisson_boltzmann(y, problem.debye_ratio, bottom.zeta_hat, top.zeta_hat, bottom.charge_hat,
                             top.charge_hat, problem.valences)


def _require_straight(problem: Problem):
    bottom, top = problem.uniform_wall("bottom"), problem.uniform_wall("top")
    if bottom is None or top is None:
        raise UnsupportedCaseError(
            "the exact solution needs one uniform zeta on both walls (physics.md §4); "
            "this case has a zeta pattern: use --solver fd (each wall may also carry one uniform ζ or σ of its own)"
        )
    return bottom, top


def wall_potentials(problem: Problem) -> tuple[float, float]:
    """(ψ(0), ψ(1)) of a straight channel: the given ζ̂ of a ζ wall, the solved one of a σ wall."""
    bottom, top = _require_straight(problem)
    psi, _ = wall_profile_1d(problem, np.array([0.0, 1.0]), bottom, top)
    return (bottom.zeta_hat if not bottom.is_charge else float(psi[0]),
            top.zeta_hat if not top.is_charge else float(psi[1]))


def exact_derivatives(problem: Problem, x: np.ndarray, y: np.ndarray) -> dict[str, Derivatives]:
    """Exact ψ, c₊, c₋, u, v, P with first and second derivatives at points (x, y)."""
    bottom, top = _require_straight(problem)
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    eps2 = problem.debye_ratio**2
    field, ell, dp = problem.field_hat, problem.length_ratio, problem.pressure_drop_hat
    zeros = np.zeros_like(y)

    psi, psi_y = wall_profile_1d(problem, y, bottom, top)
    psi_yy = space_charge(psi, *problem.valences)[0] / eps2
    out = {"psi": Derivatives(psi, zeros, psi_y, zeros, psi_yy)}
    for name, z in (("c_plus", problem.valence_plus), ("c_minus", problem.valence_minus)):
        c = np.exp(-z * psi)
        out[name] = Derivatives(c, zeros, -z * psi_y * c, zeros, (z * z * psi_y**2 - z * psi_yy) * c)
    pressure_gradient = dp / ell
    zeta_bottom, zeta_top = wall_potentials(problem)
    if zeta_bottom == zeta_top:  # u = Ê (ψ − ζ̂) exactly as before for equal walls
        wall_line, wall_slope = zeta_bottom, 0.0
    else:
        wall_line, wall_slope = zeta_bottom * (1 - y) + zeta_top * y, zeta_top - zeta_bottom
    u = field * (psi - wall_line) + 0.5 * pressure_gradient * y * (1 - y)
    u_y = field * (psi_y - wall_slope) + 0.5 * pressure_gradient * (1 - 2 * y)
    u_yy = field * psi_yy - pressure_gradient
    out["u"] = Derivatives(u, zeros, u_y, zeros, u_yy)
    out["v"] = Derivatives(zeros, zeros, zeros, zeros, zeros)
    out["P"] = Derivatives(dp * (1 - x / ell), -pressure_gradient + zeros, zeros, zeros, zeros)
    return out


def osmotic_pressure(problem: Problem, c_plus, c_minus):
    """Π = [c₊/ẑ₊ − c₋/ẑ₋ − (1/ẑ₊ − 1/ẑ₋)]/((ẑ₊ − ẑ₋) ε²), the van 't Hoff pressure of the
    ions' excess over the bulk in units of P0 — (c₊ + c₋ − 2)/(2ε²) for a symmetric salt, to
    the last bit; zero in the paper model (physics.md §3, §7)."""
    if problem.paper_model:
        return 0.0 * c_plus
    z_plus, z_minus = problem.valences
    return (c_plus / z_plus - c_minus / z_minus - (1.0 / z_plus - 1.0 / z_minus)) / (
        (z_plus - z_minus) * problem.debye_ratio**2)


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


def wall_conditions(problem: Problem, x: float) -> tuple:
    """The (bottom, top) wall conditions at position x as segments: a ZetaSegment carrying ζ̂(x)
    where a ζ is imposed, a ChargeSegment carrying σ̂(x) (and ζ̂(x) as its guess) where a charge
    is (physics/walls.py profiles, so a transition width is honoured)."""
    from eofpinn.cases.model import ChargeSegment, ZetaSegment

    here = np.array([float(x)])
    out = []
    for wall in ("bottom", "top"):
        zeta = float(problem.zeta_wall(wall, here)[0])
        if problem.charge_mask(wall, here)[0]:
            out.append(ChargeSegment(x, x, zeta, float(problem.charge_profile(wall).value(here)[0])))
        else:
            out.append(ZetaSegment(x, x, zeta))
    return tuple(out)


def reservoir_profile(problem: Problem, end: str, y: np.ndarray) -> np.ndarray:
    """ψ_eq(y) at x = 0 (end="inlet") or x = ℓ ("outlet") for that end's wall conditions."""
    x_end = 0.0 if end == "inlet" else problem.length_ratio
    return wall_profile_1d(problem, y, *wall_conditions(problem, x_end))[0]


# ---- transport through a straight channel (physics.md §7) ----------------------------------
def _channel_quadrature(problem: Problem, points: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [0, 1], `points` per interval of the mesh on which the
    collocation solver resolved the profile (its own refinement follows the double layers)."""
    bottom, top = _require_straight(problem)
    if all(not s.is_charge and s.zeta_hat == 0.0 for s in (bottom, top)):
        mesh = np.linspace(0.0, 1.0, 65)
    else:
        mesh = _pb_solution(float(problem.debye_ratio), float(bottom.zeta_hat), float(top.zeta_hat),
                            None if bottom.charge_hat is None else float(bottom.charge_hat),
                            None if top.charge_hat is None else float(top.charge_hat),
                            tuple(float(v) for v in problem.valences)).x
    t, w = np.polynomial.legendre.leggauss(points)
    a, b = mesh[:-1, None], mesh[1:, None]
    return (0.5 * (a + b) + 0.5 * (b - a) * t).ravel(), (0.5 * (b - a) * w).ravel()


def transport_coefficients(problem: Problem) -> dict[str, float]:
    """The linear responses of a straight channel (dimensionless, per unit depth), exact to the
    profile's 1e-10: with u = Ê (ψ − ψ_wall(y)) + Δp̂ y(1 − y)/(2ℓ) and Boltzmann ions,

        Q̂ = ∫ u dy = Ê · flow_per_field + Δp̂ · flow_per_pressure
        Î = ∫ (N̂₊ − N̂₋)·e_x dy = Ê · current_per_field + Δp̂ · current_per_pressure

    N̂± = −δ± (∇c± + ẑ± c± ∇φ) + Pe u c± (∇φ = −Ê e_x): current_per_field is the conduction
    ∫ (δ₊ ẑ₊ c₊ − δ₋ ẑ₋ c₋) dy plus the electroosmotic convection Pe ∫ (ψ − ψ_wall)(c₊ − c₋) dy,
    current_per_pressure the streaming (convection) current Pe ∫ y(1 − y)/(2ℓ) (c₊ − c₋) dy. The
    paper model carries neither field nor flow in its ion fluxes: no current. Onsager
    reciprocity is flow_per_field = current_per_pressure · (the SI factors of physics.md §7)."""
    bottom, top = _require_straight(problem)
    y, w = _channel_quadrature(problem)
    psi, _ = wall_profile_1d(problem, y, bottom, top)
    zeta_bottom, zeta_top = wall_potentials(problem)
    layer = psi - zeta_bottom * (1 - y) - zeta_top * y
    c_plus, c_minus = np.exp(-problem.valence_plus * psi), np.exp(-problem.valence_minus * psi)
    poiseuille = y * (1 - y) / (2.0 * problem.length_ratio)
    out = {"flow_per_field": float(w @ layer), "flow_per_pressure": float(w @ poiseuille),
           "conduction_per_field": 0.0, "convection_per_field": 0.0, "current_per_pressure": 0.0}
    if not problem.paper_model:
        z_plus, z_minus = problem.valences
        out["conduction_per_field"] = float(w @ (problem.delta_plus * z_plus * c_plus
                                                 - problem.delta_minus * z_minus * c_minus))
        out["convection_per_field"] = problem.peclet * float(w @ (layer * (c_plus - c_minus)))
        out["current_per_pressure"] = problem.peclet * float(w @ (poiseuille * (c_plus - c_minus)))
    out["current_per_field"] = out["conduction_per_field"] + out["convection_per_field"]
    return out


def open_circuit_field(problem: Problem) -> float:
    """Ê at which no net current flows, Ê = −(Î per Δp̂) Δp̂ / (Î per Ê): the streaming field of a
    pressure-driven straight channel (zero without a pressure drop)."""
    if problem.paper_model:
        raise UnsupportedCaseError("an open circuit needs the full model: the paper model's ion fluxes carry "
                                   "no current")
    k = transport_coefficients(problem)
    return -k["current_per_pressure"] * problem.pressure_drop_hat / k["current_per_field"]


def exact_transport(problem: Problem) -> dict[str, float]:
    """Q̂, Î and Î's parts (conduction, convection; no diffusion along a straight channel) for the
    problem's drives (an open circuit at its solved Ê)."""
    k = transport_coefficients(problem)
    field = open_circuit_field(problem) if problem.open_circuit else problem.field_hat
    dp = problem.pressure_drop_hat
    parts = {"conduction": field * k["conduction_per_field"], "diffusion": 0.0,
             "convection": field * k["convection_per_field"] + dp * k["current_per_pressure"]}
    return {"field_hat": field, "flow_rate": field * k["flow_per_field"] + dp * k["flow_per_pressure"],
            "current": parts["conduction"] + parts["convection"], **{f"current_{k_}": v for k_, v in parts.items()}}
