"""The wall potential along a wall, ζ̂(x), from a case's segments (physics.md §3).

A wall is a list of segments [a_k, b_k) carrying ζ̂_k. Real charge patterns change over a
finite width, and every solver must solve the same problem, so a wall may have a transition
width w (`[walls] transition`): each segment's indicator is smoothed by

    box_k(x) = S((x − a_k)/w) − S((x − b_k)/w),    S(r) = (1 + tanh r)/2,

and ζ̂(x) = Σ_k ζ̂_k box_k(x): the value changes by (ζ̂_{k+1} − ζ̂_k) over a few w around each
edge, ζ̂(edge) is the mean of the two sides, and ζ̂ is smooth (C^∞). With periodic ends each
box is summed over its images shifted by kℓ (the pattern repeats; the edge at x = 0 ≡ ℓ
between the last and the first segment is an edge like any other), as many images as make the
sum periodic to rounding for the widest transition in use (`_edges`). With reservoir ends the
first segment extends to −∞ and the last to +∞. With w = 0 the jumps are sharp (piecewise
constant; the last segment owns x = ℓ) — a wall with one segment is uniform either way.

Everything here is a pure function of x written once for every solver: the FD solver takes
values and exact face means (`mean`, from the antiderivative of S), the PINN takes values and
the first two derivatives (`jets`) in torch (`xp=torch`).

`spread_jets` continues a wall's ζ̂(x) into the channel with a width that grows with the
distance d from the wall, w + s d: at a pattern edge this has the shape of the potential near a
corner (a function of the angle, like the harmonic extension of a step), and away from edges it
is ζ̂(x) itself. The PINN's double-layer base uses it so that its x-structure widens into the
fluid instead of staying as sharp as the wall's transition. s = 1 by measurement: on
cases/patterned_zeta.toml (w = 0.1 λ_D) the mean-square Poisson residual of the Gouy–Chapman
base is 27.7 with s = 0, 1.36 with s = 1, 1.40 with s = 0.85, 1.94 with s = π/2 (the slope match
to the harmonic step) and 10.2 with s = 2.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def _log_cosh(r: np.ndarray) -> np.ndarray:
    """log cosh r without overflow."""
    a = np.abs(r)
    return a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0)


@dataclass(frozen=True)
class WallProfile:
    """ζ̂(x) of one wall: `segments` (x_start, x_end, zeta_hat), transition width `width`
    (0: sharp), channel length `length`, periodic or reservoir ends."""

    segments: tuple[Any, ...]  # ZetaSegment: x_start, x_end, zeta_hat
    width: float
    length: float
    periodic: bool

    @property
    def uniform(self) -> bool:
        return len({s.zeta_hat for s in self.segments}) == 1

    @property
    def smooth(self) -> bool:
        return self.uniform or self.width > 0.0

    def _edges(self, reach: float | None = None) -> list[tuple[float, float]]:
        """(edge position a, jump J) pairs with ζ̂ = constant + Σ J S((x − a)/w): the boxes'
        ±ζ̂_k S terms gathered by position (J = ζ̂ after the edge − ζ̂ before it).

        With periodic ends, the images kℓ for |k| ≤ K. For x in [0, ℓ] an image beyond K is at
        least Kℓ away and adds at most ≈ e^{−2Kℓ/w}: K is chosen so that this is below e^{−32}
        (1e-14) for the widest transition `reach` in use (default the wall's own w). Three
        images (K = 1) are not enough for the spread continuation, whose width reaches w + 1 at
        the far wall: on cases/patterned_zeta.toml (ℓ = 2) its ζ̂ at d = 1 then differed by 0.04
        between x = 0 and x = ℓ, a jump at the seam of the PINN's pattern features and flow base."""
        jumps: dict[float, float] = {}
        last = len(self.segments) - 1
        images = max(1, math.ceil(16.0 * (self.width if reach is None else reach) / self.length)) if self.periodic else 0
        shifts = [k * self.length for k in range(-images, images + 1)]
        for k, seg in enumerate(self.segments):
            for shift in shifts:
                if self.periodic or k > 0:
                    key = round(seg.x_start + shift, 12)
                    jumps[key] = jumps.get(key, 0.0) + seg.zeta_hat
                if self.periodic or k < last:
                    key = round(seg.x_end + shift, 12)
                    jumps[key] = jumps.get(key, 0.0) - seg.zeta_hat
        return [(edge, jump) for edge, jump in sorted(jumps.items()) if jump != 0.0]

    def _constant(self) -> float:
        """The part of ζ̂ that no edge term carries: the first segment's value (reservoir ends,
        where it extends to −∞), nothing for periodic ends."""
        return 0.0 if self.periodic else self.segments[0].zeta_hat

    def value(self, x, xp: Any = np):
        """ζ̂ at x (numpy, or torch with xp=torch)."""
        return self.jets(x, xp)[0]

    def jets(self, x, xp: Any = np) -> tuple:
        """(ζ̂, dζ̂/dx, d²ζ̂/dx²) at x; the derivatives are 0 for a sharp wall (away from jumps)."""
        if self.uniform:
            zero = x * 0.0
            return zero + self.segments[0].zeta_hat, zero, zero
        if self.width == 0.0:
            return self._sharp(x, xp), x * 0.0, x * 0.0
        w = self.width
        value, d1, d2 = x * 0.0 + self._constant(), x * 0.0, x * 0.0
        for edge, jump in self._edges():
            t = xp.tanh((x - edge) / w)
            slope = 1.0 - t * t
            value = value + jump * 0.5 * (1.0 + t)
            d1 = d1 + jump * 0.5 * slope / w
            d2 = d2 - jump * t * slope / w**2
        return value, d1, d2

    def spread_jets(self, x, d, d_y: float, spread: float = 1.0, xp: Any = np, base_width: float | None = None) -> tuple:
        """ζ̂ continued to distance d (a linear function of y with slope d_y) with the edge width
        w + spread·d, and its derivatives (value, ∂x, ∂y, ∂xx, ∂yy); at d = 0 it is `jets`.
        `base_width` replaces w (the edge width at the wall; the continuation then no longer
        meets the wall's own ζ̂ at d = 0 unless it equals w). Needs a uniform wall or a width > 0.
        d ≤ 1 (a distance across the channel, whose height is the unit): periodic images are
        summed for widths up to that at d = 1."""
        if self.uniform:
            zero = x * 0.0 + d * 0.0
            return zero + self.segments[0].zeta_hat, zero, zero, zero, zero
        if self.width == 0.0:
            raise ValueError("a sharp pattern (transition width 0) has no smooth continuation")
        base = self.width if base_width is None else base_width
        # All edges at once, along a last axis (a periodic wall has ~100 edge images: one small
        # array operation per edge cost 0.3 s a training step on patterned_zeta).
        x = x + d * 0.0
        width = (base + spread * (d + x * 0.0))[..., None]
        terms = self._edges(base + spread)
        edge = xp.asarray([e for e, _ in terms], dtype=x.dtype)
        c = xp.asarray([jump for _, jump in terms], dtype=x.dtype)
        if xp is not np:
            edge, c = edge.to(x.device), c.to(x.device)
        r = (x[..., None] - edge) / width
        t = xp.tanh(r)
        s1 = 0.5 * (1.0 - t * t)  # S'(r)
        s2 = -t * (1.0 - t * t)  # S''(r)
        w_y = spread * d_y
        r_y = -r * (w_y / width)
        r_yy = 2.0 * r * (w_y / width) ** 2
        value = self._constant() + (c * 0.5 * (1.0 + t)).sum(-1)
        dx = (c * s1 / width).sum(-1)
        dxx = (c * s2 / width**2).sum(-1)
        dy = (c * s1 * r_y).sum(-1)
        dyy = (c * (s2 * r_y**2 + s1 * r_yy)).sum(-1)
        return value, dx, dy, dxx, dyy

    def _sharp(self, x, xp: Any):
        values = x * 0.0 + self.segments[-1].zeta_hat
        for seg in reversed(self.segments):
            values = xp.where(x < seg.x_end, x * 0.0 + seg.zeta_hat, values)
        return values

    def mean(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Exact mean of ζ̂ over [left, right] (numpy), e.g. over each FD wall face."""
        left, right = np.asarray(left, dtype=float), np.asarray(right, dtype=float)
        if self.uniform:
            return np.full(left.shape, self.segments[0].zeta_hat)
        return (self._integral(right) - self._integral(left)) / (right - left)

    def _integral(self, x: np.ndarray) -> np.ndarray:
        """An antiderivative of ζ̂ (sharp: of the piecewise-constant ζ̂, periodic images included)."""
        total = self._constant() * x
        for edge, jump in self._edges():
            if self.width == 0.0:
                total = total + jump * np.maximum(x - edge, 0.0)
            else:
                r = (x - edge) / self.width
                total = total + jump * 0.5 * ((x - edge) + self.width * _log_cosh(r))
        return total
