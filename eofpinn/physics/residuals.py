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
):
    """Stokes x and y in the excess-pressure form; the bracket is each ion's departure from
    Boltzmann equilibrium, so it vanishes identically in a straight channel at rest in y."""
    z_plus, z_minus = valences
    scale = 1.0 / ((z_plus - z_minus) * debye_ratio**2)
    force_x = (c_plus.x + z_plus * c_plus.f * phi_x) / z_plus - (c_minus.x + z_minus * c_minus.f * phi_x) / z_minus
    force_y = (c_plus.y + z_plus * c_plus.f * phi_y) / z_plus - (c_minus.y + z_minus * c_minus.f * phi_y) / z_minus
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
) -> dict:
    """The six PDE residuals, keyed by RESIDUAL_NAMES. `pressure` is the excess pressure P;
    `field_hat` the field Ê (None: problem.field_hat; an open circuit's PINN passes its
    trainable Ê, a scalar tensor)."""
    eps = problem.debye_ratio
    field = problem.field_hat if field_hat is None else field_hat
    lap_psi = psi.xx + psi.yy
    if problem.paper_model:
        phi_x, phi_y, pe = psi.x, psi.y, 0.0
    else:
        phi_x, phi_y, pe = psi.x - field, psi.y, problem.peclet
    z_plus, z_minus = problem.valences
    out = {
        "poisson": poisson(eps, psi, c_plus, c_minus, problem.valence_span),
        "np_plus": nernst_planck(z_plus, problem.delta_plus, pe, c_plus, phi_x, phi_y, lap_psi, u, v),
        "np_minus": nernst_planck(z_minus, problem.delta_minus, pe, c_minus, phi_x, phi_y, lap_psi, u, v),
        "continuity": continuity(u, v),
    }
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
            eps, reynolds, u, v, pressure, c_plus, c_minus, phi_x, phi_y, problem.valences
        )
    return {name: out[name] for name in RESIDUAL_NAMES}
