"""Pointwise residuals of the dimensionless PNP–Stokes system (physics.md §2–§3).

Pure functions of fields and their derivatives (`Derivatives` bundles), written term by term
as in physics.md, so that they work on numpy arrays (tests, FD checks) and torch tensors
(PINN) alike. The unknowns are the double-layer potential ψ, the concentrations c±, the
velocity (u, v) and the *excess* pressure P = p − Π. With φ = ψ − Ê x (full model) and the
dimensionless valences ẑ₊ > 0 > ẑ₋ (±1 for a symmetric salt, physics.md §7):

    Poisson       ε² ∇²ψ + (c₊ − c₋)/(ẑ₊ − ẑ₋) = 0
    NP±           ∇·( δ± (∇c± + ẑ± c± ∇φ) − Pe u c± ) = 0
    Stokes        ∇²u − ∇P − (1/((ẑ₊ − ẑ₋) ε²)) [ (∇c₊ + ẑ₊ c₊∇φ)/ẑ₊ − (∇c₋ + ẑ₋ c₋∇φ)/ẑ₋ ]
                  − Re (u·∇)u = 0
    Continuity    ∇·u = 0

(symmetric salt: ε² ∇²ψ + (c₊ − c₋)/2, NP± with ±c±∇φ, the bracket (∇c₊ + c₊∇φ) + (∇c₋ − c₋∇φ)
over 2ε² — physics.md §2, to the last bit.)
Paper model (arXiv 2605.23391 in our scaling): φ = ψ in NP, no advection, no field in NP,
Stokes-x body force +Ê (c₊ − c₋)/((ẑ₊ − ẑ₋)ε²) only, no y body force, P = p (no osmotic part).
"""

from __future__ import annotations

from eofpinn.cases.model import Problem
from eofpinn.physics.exact import Derivatives

RESIDUAL_NAMES = ("poisson", "np_plus", "np_minus", "stokes_x", "stokes_y", "continuity")


def poisson(debye_ratio: float, psi: Derivatives, c_plus: Derivatives, c_minus: Derivatives,
            valence_span: float = 2.0):
    """ε² ∇²ψ + (c₊ − c₋)/(ẑ₊ − ẑ₋)."""
    return debye_ratio**2 * (psi.xx + psi.yy) + (c_plus.f - c_minus.f) / valence_span


def nernst_planck(
    valence: float,
    diffusivity: float,
    peclet: float,
    c: Derivatives,
    phi_x,
    phi_y,
    lap_phi,
    u: Derivatives,
    v: Derivatives,
):
    """∇·(δ (∇c + ẑ c∇φ) − Pe u c), expanded; ∇·u is kept so the form stays conservative."""
    diffusion = c.xx + c.yy
    migration = valence * (c.x * phi_x + c.y * phi_y + c.f * lap_phi)
    advection = u.f * c.x + v.f * c.y + c.f * (u.x + v.y)
    return diffusivity * (diffusion + migration) - peclet * advection


def slotboom_brackets(valence: float, c: Derivatives, slotboom: Derivatives, field):
    """An ion's bracket ∇c + ẑ c∇φ (its flux without advection, over −δ) from its Slotboom
    exponent N = ln c + ẑψ (+ a constant): c (∂N/∂x − ẑ Ê, ∂N/∂y), with φ = ψ − Ê x. Equal to the
    expanded bracket; inside a double layer that one is the difference of two terms of order
    c|∇ψ| ≫ the bracket, and in float32 their rounding is larger than the bracket itself."""
    return c.f * (slotboom.x - valence * field), c.f * slotboom.y


def nernst_planck_slotboom(valence: float, diffusivity: float, peclet: float, c: Derivatives,
                           slotboom: Derivatives, psi: Derivatives, field, u: Derivatives, v: Derivatives):
    """The residual of `nernst_planck` written through the Slotboom exponent N = ln c + ẑψ (c ∝ e^{N − ẑψ}):
    c [δ (∇²N + ∇ln c·(∇N − ẑ Ê e_x)) − Pe (u·∇ln c + ∇·u)], ∇ln c = ∇N − ẑ∇ψ; no term in it
    cancels another (`slotboom_brackets`)."""
    log_x, log_y = slotboom.x - valence * psi.x, slotboom.y - valence * psi.y
    drift = slotboom.xx + slotboom.yy + log_x * (slotboom.x - valence * field) + log_y * slotboom.y
    return c.f * (diffusivity * drift - peclet * (u.f * log_x + v.f * log_y + u.x + v.y))


def stokes_excess(
    debye_ratio: float,
    reynolds: float,
    u: Derivatives,
    v: Derivatives,
    pressure: Derivatives,
    c_plus: Derivatives,
    c_minus: Derivatives,
    phi_x,
    phi_y,
    valences: tuple[float, float] = (1.0, -1.0),
    brackets=None,
):
    """Stokes x and y in the excess-pressure form; the bracket is each ion's departure from
    Boltzmann equilibrium, so it vanishes identically in a straight channel at rest in y.
    `brackets` ((x₊, y₊), (x₋, y₋)): the brackets already formed (`slotboom_brackets`)."""
    z_plus, z_minus = valences
    scale = 1.0 / ((z_plus - z_minus) * debye_ratio**2)
    if brackets is None:
        brackets = ((c_plus.x + z_plus * c_plus.f * phi_x, c_plus.y + z_plus * c_plus.f * phi_y),
                    (c_minus.x + z_minus * c_minus.f * phi_x, c_minus.y + z_minus * c_minus.f * phi_y))
    (plus_x, plus_y), (minus_x, minus_y) = brackets
    force_x = plus_x / z_plus - minus_x / z_minus
    force_y = plus_y / z_plus - minus_y / z_minus
    res_x = u.xx + u.yy - pressure.x - scale * force_x
    res_y = v.xx + v.yy - pressure.y - scale * force_y
    if reynolds:
        res_x = res_x - reynolds * (u.f * u.x + v.f * u.y)
        res_y = res_y - reynolds * (u.f * v.x + v.f * v.y)
    return res_x, res_y


def continuity(u: Derivatives, v: Derivatives):
    return u.x + v.y


def residuals(
    problem: Problem,
    psi: Derivatives,
    c_plus: Derivatives,
    c_minus: Derivatives,
    u: Derivatives,
    v: Derivatives,
    pressure: Derivatives,
    field_hat=None,
    slotboom: tuple[Derivatives, Derivatives] | None = None,
) -> dict:
    """The six PDE residuals, keyed by RESIDUAL_NAMES. `pressure` is the excess pressure P;
    `field_hat` the field Ê (None: problem.field_hat; an open circuit's PINN passes its
    trainable Ê, a scalar tensor). `slotboom` (N₊, N₋), the ions' Slotboom exponents: the
    Nernst–Planck residuals and Stokes' brackets are formed through them (`nernst_planck_slotboom`,
    `slotboom_brackets`), the same residuals without the cancellation inside double layers."""
    eps = problem.debye_ratio
    field = problem.field_hat if field_hat is None else field_hat
    lap_psi = psi.xx + psi.yy
    if problem.paper_model:
        phi_x, phi_y, pe = psi.x, psi.y, 0.0
    else:
        phi_x, phi_y, pe = psi.x - field, psi.y, problem.peclet
    z_plus, z_minus = problem.valences
    out = {"poisson": poisson(eps, psi, c_plus, c_minus, problem.valence_span), "continuity": continuity(u, v)}
    brackets = None
    if slotboom is None:
        out["np_plus"] = nernst_planck(z_plus, problem.delta_plus, pe, c_plus, phi_x, phi_y, lap_psi, u, v)
        out["np_minus"] = nernst_planck(z_minus, problem.delta_minus, pe, c_minus, phi_x, phi_y, lap_psi, u, v)
    else:
        np_field = 0.0 if problem.paper_model else field
        out["np_plus"] = nernst_planck_slotboom(z_plus, problem.delta_plus, pe, c_plus, slotboom[0], psi, np_field,
                                                u, v)
        out["np_minus"] = nernst_planck_slotboom(z_minus, problem.delta_minus, pe, c_minus, slotboom[1], psi,
                                                 np_field, u, v)
        brackets = (slotboom_brackets(z_plus, c_plus, slotboom[0], np_field),
                    slotboom_brackets(z_minus, c_minus, slotboom[1], np_field))
    reynolds = problem.reynolds if problem.inertia else 0.0
    if problem.paper_model:
        scale = 1.0 / (problem.valence_span * eps**2)
        out["stokes_x"] = u.xx + u.yy - pressure.x + scale * field * (c_plus.f - c_minus.f)
        out["stokes_y"] = v.xx + v.yy - pressure.y
        if reynolds:
            out["stokes_x"] = out["stokes_x"] - reynolds * (u.f * u.x + v.f * u.y)
            out["stokes_y"] = out["stokes_y"] - reynolds * (u.f * v.x + v.f * v.y)
    else:
        out["stokes_x"], out["stokes_y"] = stokes_excess(
            eps, reynolds, u, v, pressure, c_plus, c_minus, phi_x, phi_y, problem.valences, brackets
        )
    return {name: out[name] for name in RESIDUAL_NAMES}
