"""The single-wall double layer of any z₊:z₋ salt, found numerically (physics.md §4).

One wall at potential ζ̂, the bulk far from it: ε² ψ'' = −(e^{−ẑ₊ψ} − e^{−ẑ₋ψ})/(ẑ₊ − ẑ₋) with
ψ = ζ̂ at the wall and ψ → 0 into the bulk. Its first integral (ε²/2) ψ'² = G(ψ),

    G(ψ) = [(e^{−ẑ₊ψ} − 1)/ẑ₊ − (e^{−ẑ₋ψ} − 1)/ẑ₋]/(ẑ₊ − ẑ₋) ≥ 0,   G = ψ²/2 + O(ψ³),

gives, in the scaled distance s = d/ε from the wall,

    dψ/ds = −ψ r(ψ),   r(ψ) = sqrt(2G(ψ))/|ψ|   (r > 0 and smooth, r(0) = 1),

so d/ds [ln|ψ| + R(ψ)] = −1 with R(ψ) = ∫₀^ψ (1/r(t) − 1)/t dt, also smooth. The layer is
therefore ψ = ζ̂ e^u with u ≤ 0 the root of

    f(u) = u + R(ζ̂ e^u) − R(ζ̂) + s = 0,    ∂f/∂u = 1/r(ψ) > 0.

z:z, 2:1 and 1:2 salts have it in closed form (exact.gouy_chapman); this is the layer of every
other salt (3:1, 1:3, 3:2, …), and equals those closed forms to ~1e-14 (tests). R is tabulated once
per salt and range on panels of 1/256 (eight-point Gauss–Legendre each, exact to rounding for
this smooth integrand) and read by cubic Hermite interpolation with its exact slope R′; the root
is Newton's method kept inside a bracket. The derivatives that jets need follow from the same
relations without differentiating the root-finding:

    ψ_s = −ψ r(ψ),                   ψ_ss = (r(ψ) + ψ r′(ψ)) ψ r(ψ),
    ψ_ζ = e^u r(ψ)/r(ζ̂),             ψ_ζs = −(r(ψ) + ψ r′(ψ)) ψ_ζ,
    ψ_ζζ = ψ_ζ (u_ζ + r′(ψ) ψ_ζ/r(ψ) − r′(ζ̂)/r(ζ̂)),   u_ζ = r(ψ) (R′(ζ̂) − e^u R′(ψ)).

Everything is computed in float64 (torch, on the inputs' device) and returned in it.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

PANELS_PER_UNIT = 256  # table spacing 1/256 in ψ (exact in binary)
_SERIES_BELOW = 0.5  # |x| below which h, h₁ and h′ are summed as series
_SERIES_TERMS = 18
MAX_ITERATIONS = 200  # bracketed Newton: a bisection step wherever Newton would leave the bracket


def _series(x: Tensor, coefficients: list[float]) -> Tensor:
    out = torch.zeros_like(x)
    for c in reversed(coefficients):
        out = out * x + c
    return out


# h(x) = (eˣ − 1 − x)/x² = Σ_k x^k/(k+2)!,  h₁(x) = (h(x) − ½)/x,  h′(x): their series coefficients.
_H = [1.0 / math.factorial(k + 2) for k in range(_SERIES_TERMS)]
_H1 = _H[1:]
_DH = [k * _H[k] for k in range(1, _SERIES_TERMS)]


def _h_functions(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """h(x), h₁(x) and h′(x) without cancellation at small |x|."""
    small = x.abs() < _SERIES_BELOW
    xs = torch.where(small, torch.ones_like(x), x)  # the closed forms, off the small arguments
    e = torch.expm1(xs)
    h_closed = (e - xs) / xs**2
    closed = (h_closed, (h_closed - 0.5) / xs, (xs * e - 2.0 * e + 2.0 * xs) / xs**3)
    series = (_series(x, _H), _series(x, _H1), _series(x, _DH))
    return tuple(torch.where(small, s, c) for s, c in zip(series, closed))


def slope_functions(t: Tensor, valences: tuple[float, float]) -> tuple[Tensor, Tensor, Tensor]:
    """r(t), r′(t) and R′(t) = (1/r − 1)/t of a salt, each without cancellation at small |t|
    (from m = r² = 2G/t², m′ and (m − 1)/t written with h, h′ and h₁)."""
    z_plus, z_minus = valences
    hp, h1p, dhp = _h_functions(-z_plus * t)
    hm, h1m, dhm = _h_functions(-z_minus * t)
    scale = 2.0 / (z_plus - z_minus)
    m = scale * (z_plus * hp - z_minus * hm)
    dm = scale * (-z_plus**2 * dhp + z_minus**2 * dhm)
    m_excess = scale * (-z_plus**2 * h1p + z_minus**2 * h1m)  # (m − 1)/t
    r = torch.sqrt(m)
    return r, dm / (2.0 * r), -m_excess / (r * (1.0 + r))


class SaltLayer:
    """The single-wall layer of one salt (ẑ₊ > 0 > ẑ₋) for |ζ̂| up to a whole-number `reach`."""

    def __init__(self, valences: tuple[float, float], reach: int):
        self.valences = (float(valences[0]), float(valences[1]))
        if not self.valences[0] > 0.0 > self.valences[1]:
            raise ValueError(f"SaltLayer: valences must be (z+ > 0, z- < 0); got {valences}")
        self.reach = int(reach)
        self.start, self.step, self.zero_index = -float(self.reach), 1.0 / PANELS_PER_UNIT, self.reach * PANELS_PER_UNIT
        t = torch.arange(-self.zero_index, self.zero_index + 1, dtype=torch.float64) * self.step
        r, _, slope = slope_functions(t, self.valences)
        gauss, weights = (torch.from_numpy(a) for a in np.polynomial.legendre.leggauss(8))
        inner = t[:-1, None] + 0.5 * self.step * (gauss[None, :] + 1.0)
        panels = 0.5 * self.step * (slope_functions(inner, self.valences)[2] * weights[None, :]).sum(dim=1)
        cumulative = torch.cat((torch.zeros(1, dtype=torch.float64), torch.cumsum(panels, 0)))
        self.values, self.slopes = cumulative - cumulative[self.zero_index], slope
        # The largest r from 0 out to each node (the root's bracket).
        up = torch.cummax(r[self.zero_index:], 0).values
        down = torch.cummax(r[: self.zero_index + 1].flip(0), 0).values.flip(0)
        self.r_outward_max = torch.cat((down[:-1], up))

    def big_r(self, t: Tensor) -> Tensor:
        """R(t) by cubic Hermite interpolation of the table (|t| ≤ reach)."""
        values, slopes = self.values.to(t.device), self.slopes.to(t.device)
        position = (t - self.start) / self.step
        index = position.floor().clamp(0, values.numel() - 2).long()
        theta = position - index
        theta2, theta3 = theta * theta, theta * theta * theta
        return ((2 * theta3 - 3 * theta2 + 1) * values[index] + (theta3 - 2 * theta2 + theta) * self.step * slopes[index]
                + (-2 * theta3 + 3 * theta2) * values[index + 1] + (theta3 - theta2) * self.step * slopes[index + 1])

    def _r_max(self, zeta: Tensor) -> Tensor:
        """The largest r between 0 and ζ̂ (the table's nodes, one node past ζ̂)."""
        table = self.r_outward_max.to(zeta.device)
        last = table.numel() - 1
        index = ((zeta - self.start) / self.step).round().long()
        past = torch.where(zeta >= 0, index + 1, index - 1)
        return torch.maximum(table[index.clamp(0, last)], table[past.clamp(0, last)])

    def potential(self, zeta: Tensor, s: Tensor) -> dict[str, Tensor]:
        """ψ at scaled distance s = d/ε ≥ 0 from a wall at ζ̂ (broadcast, float64), with ψ_ζ, ψ_s,
        ψ_ζζ, ψ_ζs, ψ_ss: keys "f", "z", "s", "zz", "zs", "ss"."""
        zeta, s = torch.broadcast_tensors(zeta.to(torch.float64), s.to(torch.float64))
        if zeta.numel() and float(zeta.abs().max()) > self.reach:
            raise ValueError(f"SaltLayer: |zeta| {float(zeta.abs().max()):g} beyond the table's reach {self.reach}")
        r_zeta, dr_zeta, dR_zeta = slope_functions(zeta, self.valences)
        R_zeta = self.big_r(zeta)
        # f(0) = s ≥ 0 and f(u) ≤ s + u/r_max: the root lies in [−1.01 s r_max, 0].
        lo, hi = -1.01 * s * self._r_max(zeta), torch.zeros_like(s)
        u = torch.clamp(-s, lo, hi)
        for _ in range(MAX_ITERATIONS):
            psi = zeta * torch.exp(u)
            f = u + self.big_r(psi) - R_zeta + s
            hi, lo = torch.where(f > 0, u, hi), torch.where(f > 0, lo, u)
            newton = u - f * slope_functions(psi, self.valences)[0]
            following = torch.where((newton >= lo) & (newton <= hi), newton, 0.5 * (lo + hi))
            converged = bool(((following - u).abs() <= 4e-16 * (1.0 + u.abs())).all())
            u = following
            if converged:
                break
        w = torch.exp(u)
        psi = zeta * w
        r_psi, dr_psi, dR_psi = slope_functions(psi, self.valences)
        q_slope = r_psi + psi * dr_psi  # (ψ r(ψ))′
        d_s, d_z = -psi * r_psi, w * r_psi / r_zeta
        d_uz = r_psi * (dR_zeta - w * dR_psi)
        return {"f": psi, "z": d_z, "s": d_s, "zz": d_z * (d_uz + dr_psi * d_z / r_psi - dr_zeta / r_zeta),
                "zs": -q_slope * d_z, "ss": -q_slope * d_s}


@lru_cache(maxsize=32)
def salt_layer(valences: tuple[float, float], reach: int) -> SaltLayer:
    """The layer of a salt for |ζ̂| ≤ reach (a whole number), kept per salt and reach."""
    return SaltLayer(valences, reach)


def layer_potential(zeta: Tensor, s: Tensor, valences: tuple[float, float]) -> dict[str, Tensor]:
    """ψ and its derivatives in (ζ̂, s) of the single-wall layer (`SaltLayer.potential`), from a
    table reaching the largest |ζ̂| asked for (rounded up to a whole number)."""
    reach = float(zeta.abs().max()) if zeta.numel() else 0.0
    return salt_layer((float(valences[0]), float(valences[1])), max(1, math.ceil(reach))).potential(zeta, s)
