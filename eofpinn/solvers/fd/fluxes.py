"""Face fluxes and difference operators of the finite-volume scheme (numpy, torch or Stencil).

Scharfetter–Gummel flux. Between two points a → b a distance h apart, the flux

    N = −δ (c' + a c)          (a = ±φ' − (Pe/δ) w: migration and advection, w = face velocity)

is integrated exactly for constant N and a along the segment, which gives

    N ≈ (δ/h) [ B(Δ) c_a − B(−Δ) c_b ],   Δ = a h,   B(x) = x / (eᵡ − 1).

It reduces to central differencing for |Δ| ≪ 1, to upwinding for |Δ| ≫ 1, and is exact for
Boltzmann-distributed ions (N = 0 when c_b = c_a e^{−Δ}), so the steep exponential profiles of
the double layer are carried without oscillations and an equilibrium layer has exactly zero
flux and exactly zero excess-pressure body force.

Wall gradients use the quadratic through the wall value and the first two cell centres, so
the Dirichlet closure of a cell-centred grid stays second order at the wall.
"""

from __future__ import annotations

import numpy as np
import torch

from eofpinn.solvers.fd import ops
from eofpinn.solvers.fd.stencil import Stencil

_SMALL = 1e-5
_CLAMP = 600.0


def _bernoulli_numpy(x: np.ndarray) -> np.ndarray:
    small = np.abs(x) < _SMALL
    safe = np.clip(np.where(small, 1.0, x), -_CLAMP, _CLAMP)
    return np.where(small, 1.0 - 0.5 * x + x * x / 12.0, safe / np.expm1(safe))


def _bernoulli_slope_numpy(x: np.ndarray) -> np.ndarray:
    """B'(x) = (eˣ − 1 − x eˣ) / (eˣ − 1)², written with B(x) and B(−x) so it cannot overflow."""
    small = np.abs(x) < _SMALL
    safe = np.clip(np.where(small, 1.0, x), -_CLAMP, _CLAMP)
    b_plus, b_minus = safe / np.expm1(safe), -safe / np.expm1(-safe)
    # B(x) B(−x) = x² eˣ/(eˣ − 1)², so B' = (B(x) − B(x) B(−x)) / x.
    return np.where(small, -0.5 + x / 6.0, (b_plus - b_plus * b_minus) / safe)


def bernoulli(x):
    """B(x) = x / (eˣ − 1), with its Taylor series near 0 (numpy, torch or Stencil)."""
    if isinstance(x, Stencil):
        return x.apply(_bernoulli_numpy, _bernoulli_slope_numpy)
    if not isinstance(x, torch.Tensor):
        return _bernoulli_numpy(x)
    small = x.abs() < _SMALL
    safe = torch.where(small, torch.ones_like(x), x).clamp(-_CLAMP, _CLAMP)
    series = 1.0 - 0.5 * x + x * x / 12.0
    return torch.where(small, series, safe / torch.expm1(safe))


def sg_flux(c_a, c_b, drift, h):
    """Scharfetter–Gummel approximation of −(c' + a c) on a → b, drift = a h."""
    return (bernoulli(drift) * c_a - bernoulli(-drift) * c_b) / h


def wall_gradient(wall_value, first, second, d1: float, d2: float):
    """d f / d n at a wall (n: distance into the fluid) from f(0), f(d1), f(d2)."""
    return (
        -(d1 + d2) / (d1 * d2) * wall_value
        + d2 / (d1 * (d2 - d1)) * first
        - d1 / (d2 * (d2 - d1)) * second
    )


def charge_wall_value(first, second, charge, d1: float, d2: float):
    """ψ on a charge wall: the value at d = 0 of the quadratic through the first two cell centres
    (distances d1, d2 from the wall) whose slope at the wall is ∂ψ/∂d = −σ̂ (−∂ψ/∂n = σ̂, n into
    the fluid; physics.md §7). `wall_gradient` of that value returns −σ̂ again: second order."""
    return (d2 * d2 * first - d1 * d1 * second + charge * (d1 * d2 * (d2 - d1))) / (d2 * d2 - d1 * d1)


def x_face_pairs(values, periodic: bool, left=None, right=None):
    """Values either side of every x face: (left, right) neighbours along axis 0.

    Periodic: n faces, face k between nodes k and k+1 (mod n). Reservoir: the Dirichlet columns
    `left`/`right` pad the unknown columns, giving the n+1 faces between all nodes.
    """
    if periodic:
        return values, ops.roll(values, -1)
    padded = ops.cat([left[None], values, right[None]], 0)
    return padded[:-1], padded[1:]


def x_divergence(face_values, periodic: bool, widths):
    """(F_{i+½} − F_{i−½}) / Δx_i at every unknown column (widths: a column (n, 1) or a number)."""
    if periodic:
        return (face_values - ops.roll(face_values, 1)) / widths
    return (face_values[1:] - face_values[:-1]) / widths


def three_point_derivative(left, centre, right, h_left, h_right):
    """f' at the centre of three points a distance h_left, h_right apart (second order)."""
    total = h_left + h_right
    return (h_left / (h_right * total)) * right + ((h_right - h_left) / (h_left * h_right)) * centre \
        - (h_right / (h_left * total)) * left


def y_gradient_faces(values, wall_bottom, wall_top, geo):
    """∂f/∂y on all m+1 horizontal faces of a cell-centred field (walls: Dirichlet values)."""
    d1, d2 = geo.wall_distances
    bottom = wall_gradient(wall_bottom, values[:, 0], values[:, 1], d1, d2)
    top = -wall_gradient(wall_top, values[:, -1], values[:, -2], d1, d2)
    interior = (values[:, 1:] - values[:, :-1]) / geo.dy_centres
    return ops.cat([bottom[:, None], interior, top[:, None]], 1)


def y_divergence(face_values, geo):
    """(G_{j+1} − G_j) / Δy_j from the m+1 face values of a cell-centred balance."""
    return (face_values[:, 1:] - face_values[:, :-1]) / geo.dy


def central_weights(positions: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Weights (3, k) of the three-point first derivative at `positions` (ends added)."""
    s = np.concatenate([[lower], positions, [upper]])
    h_minus, h_plus = s[1:-1] - s[:-2], s[2:] - s[1:-1]
    return np.stack([
        -h_plus / (h_minus * (h_minus + h_plus)),
        (h_plus - h_minus) / (h_minus * h_plus),
        h_minus / (h_plus * (h_minus + h_plus)),
    ])


def central_derivative(values, weights):
    """Three-point first derivative along axis 1 with zero end values (no slip)."""
    zeros = ops.zeros_like(values[:, :1])
    f = ops.cat([zeros, values, zeros], 1)
    return weights[0] * f[:, :-2] + weights[1] * f[:, 1:-1] + weights[2] * f[:, 2:]
