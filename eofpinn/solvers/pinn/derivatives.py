"""Second-order jets of fields in the plane: (f, ∂f/∂x, ∂f/∂y, ∂²f/∂x², ∂²f/∂y²).

The residuals of physics.md §2 need exactly these five numbers per field and point (no mixed
derivative), so a *jet* is stored as one tensor of shape (5, N, ...) stacked in that order.
Two ways to obtain the jets of a network's outputs:

- `autograd_jets`: nested reverse-mode autograd — one gradient pass per network, then the
  two second derivatives from that gradient. The reference path.
- Taylor mode (`networks.MLP.taylor`): the jet is pushed forward through every layer by hand.
  A linear layer acts on all five rows alike (the bias only on f); tanh acts by the chain rule
      a = tanh h,  a' = 1 − a²,  a'' = −2 a a',  ∂a = a' ∂h,  ∂²a = a'' (∂h)² + a' ∂²h,
  so one forward pass of a 5N batch gives every derivative, and the parameter gradient is a
  single ordinary backward pass through it (no double backward).

The jet algebra below (sums, products, exp, known functions of y) turns raw network jets into
physical fields (hard walls, c = exp(·), Slotboom variables) without any further autograd.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from eofpinn.physics.exact import Derivatives, closed_layer
from eofpinn.physics.salt_layer import layer_potential

JET_ROWS = ("f", "x", "y", "xx", "yy")


def same_points(a: Tensor, b: Tensor) -> bool:
    """Whether two point sets are the same points (shape, dtype, device and values): the test by
    which jets formed once at a set of points are reused for it."""
    return a.shape == b.shape and a.dtype == b.dtype and a.device == b.device and torch.equal(a, b)


def as_derivatives(jet: Tensor) -> Derivatives:
    """View a (5, N) jet as the `Derivatives` bundle that physics.residuals consumes."""
    return Derivatives(f=jet[0], x=jet[1], y=jet[2], xx=jet[3], yy=jet[4])


def constant_jet(value: Tensor | float, like: Tensor) -> Tensor:
    """The jet of a constant (or of a per-point value with zero derivatives), shaped like `like`."""
    jet = torch.zeros_like(like)
    jet[0] = value
    return jet


def product(a: Tensor, b: Tensor) -> Tensor:
    """Jet of a·b (Leibniz rule, second derivatives without the mixed term)."""
    return torch.stack(
        (
            a[0] * b[0],
            a[1] * b[0] + a[0] * b[1],
            a[2] * b[0] + a[0] * b[2],
            a[3] * b[0] + 2.0 * a[1] * b[1] + a[0] * b[3],
            a[4] * b[0] + 2.0 * a[2] * b[2] + a[0] * b[4],
        )
    )


def compose(value: Tensor, d1: Tensor, d2: Tensor, a: Tensor) -> Tensor:
    """Jet of F(a) from F(a₀), F'(a₀), F''(a₀) (chain rule: ∂F = F' ∂a, ∂²F = F'' (∂a)² + F' ∂²a)."""
    return torch.stack((value, d1 * a[1], d1 * a[2], d2 * a[1] ** 2 + d1 * a[3], d2 * a[2] ** 2 + d1 * a[4]))


def compose_two(f: Tensor, fa: Tensor, fb: Tensor, faa: Tensor, fab: Tensor, fbb: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Jet of F(a, b) from F and its partial derivatives F_a, F_b, F_aa, F_ab, F_bb at (a₀, b₀)
    (chain rule: ∂²F/∂x² = F_a a_xx + F_b b_xx + F_aa a_x² + 2 F_ab a_x b_x + F_bb b_x², and in y)."""
    return torch.stack((f, fa * a[1] + fb * b[1], fa * a[2] + fb * b[2],
                        fa * a[3] + fb * b[3] + faa * a[1] ** 2 + 2.0 * fab * a[1] * b[1] + fbb * b[1] ** 2,
                        fa * a[4] + fb * b[4] + faa * a[2] ** 2 + 2.0 * fab * a[2] * b[2] + fbb * b[2] ** 2))


def logarithm(a: Tensor) -> Tensor:
    """Jet of ln a (a > 0): (ln a, a_x/a, a_y/a, a_xx/a − (a_x/a)², a_yy/a − (a_y/a)²)."""
    inverse = 1.0 / a[0]
    return compose(torch.log(a[0]), inverse, -inverse * inverse, a)


def exponential(a: Tensor) -> Tensor:
    """Jet of exp(a): e·(1, a_x, a_y, a_xx + a_x², a_yy + a_y²)."""
    e = torch.exp(a[0])
    return torch.stack((e, e * a[1], e * a[2], e * (a[3] + a[1] ** 2), e * (a[4] + a[2] ** 2)))


def jet_of_y(value: Tensor, d_dy: Tensor, d2_dy2: Tensor) -> Tensor:
    """Jet of a known function of y alone, from its value and two y-derivatives."""
    zero = torch.zeros_like(value)
    return torch.stack((value, zero, d_dy, zero, d2_dy2))


def jet_of_x(value: Tensor, d_dx: Tensor, d2_dx2: Tensor) -> Tensor:
    """Jet of a known function of x alone, from its value and two x-derivatives."""
    zero = torch.zeros_like(value)
    return torch.stack((value, d_dx, zero, d2_dx2, zero))


def wall_distance_jet(y: Tensor) -> Tensor:
    """Jet of d(y) = 4 y (1 − y): zero on both walls, 1 on the centre line (hard wall values)."""
    return jet_of_y(4.0 * y * (1.0 - y), 4.0 - 8.0 * y, torch.full_like(y, -8.0))


def wall_blend_jet(y: Tensor, bottom: Tensor, top: Tensor) -> Tensor:
    """Jet of the linear blend bottom(x)·(1 − y) + top(x)·y, the wall values of a hard field;
    `bottom` and `top` are x-jets (jet_of_x) of the two walls' values."""
    return product(bottom, jet_of_y(1.0 - y, -torch.ones_like(y), torch.zeros_like(y))) + \
        product(top, jet_of_y(y, torch.ones_like(y), torch.zeros_like(y)))


def artanh_jet(q: Tensor) -> Tensor:
    """Jet of 4 artanh q (q a jet with |q| < 1), the Gouy–Chapman potential of q = tanh(ζ̂/4) e^{−d/ε}."""
    q0 = q[0]
    one_minus = 1.0 - q0 * q0
    value = 2.0 * torch.log1p(2.0 * q0 / (1.0 - q0))  # 4 artanh q, written to keep q ≪ 1 accurate
    return compose(value, 4.0 / one_minus, 8.0 * q0 / one_minus**2, q)


def _tanh_quarter(zeta: Tensor) -> Tensor:
    """Jet of tanh(ζ̂/4) from a jet of ζ̂ (dt/dζ̂ = (1 − t²)/4, d²t/dζ̂² = −t (1 − t²)/8)."""
    t = torch.tanh(zeta[0] / 4.0)
    slope = (1.0 - t * t) / 4.0
    return compose(t, slope, -0.5 * t * slope, zeta)


def _divalent_layer_coefficients(zeta: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Jets of K, K − q* and 1 − K of the 2:1 layer (exact.gouy_chapman) from a jet of ζ̂:
    K = (s₀ − 1)/(s₀ + 1), s₀ = sqrt((2e^ζ̂ + 1)/3), q* = √3 − 2 the root of 1 + 4q + q² (K's limit
    as ζ̂ → −∞). K − q* and 1 − K are formed without cancellation, as ψ's logarithms need them."""
    e = torch.exp(zeta[0])
    s0 = torch.sqrt((2.0 * e + 1.0) / 3.0)
    ds = e / (3.0 * s0)
    d2s = ds - e * e / (9.0 * s0**3)
    plus = s0 + 1.0
    dk, d2k = 2.0 * ds / plus**2, 2.0 * d2s / plus**2 - 4.0 * ds**2 / plus**3
    root = 1.0 / math.sqrt(3.0)
    above_root = (4.0 * e / 3.0) / ((s0 + root) * plus * (1.0 + root))
    return (compose((s0 - 1.0) / plus, dk, d2k, zeta), compose(above_root, dk, d2k, zeta),
            compose(2.0 / plus, -dk, -d2k, zeta))


def numerical_layer_jet(zeta: Tensor, scaled_distance: Tensor, valences: tuple[float, float]) -> Tensor:
    """Jet of one wall's double layer of a salt without a closed form (physics/salt_layer.py) from
    the jets of ζ̂ and of s = d/ε; found in float64, returned in ζ̂'s dtype."""
    found = layer_potential(zeta[0], scaled_distance[0], valences)
    partials = (found[key].to(zeta.dtype) for key in ("f", "z", "s", "zz", "zs", "ss"))
    return compose_two(*partials, zeta, scaled_distance)


def layer_jet(zeta: Tensor, decay: Tensor, rest: Tensor, valences: tuple[float, float]) -> Tensor:
    """Jet of one wall's Gouy–Chapman layer (exact.gouy_chapman) from the jets of ζ̂, of the decay
    e^{−d/ε} and of 1 − e^{−d/ε} (given apart so that it keeps its digits near the wall); z:z,
    2:1 and 1:2 salts only (closed_layer; the others: numerical_layer_jet)."""
    if not closed_layer(valences):
        raise ValueError(f"layer_jet: no closed-form layer for the valences {valences}; use numerical_layer_jet")
    z_plus, z_minus = valences
    if z_plus == -z_minus:
        return artanh_jet(product(_tanh_quarter(zeta), decay))
    if (z_plus, z_minus) == (1.0, -2.0):
        return -layer_jet(-zeta, decay, rest, (2.0, -1.0))
    k, above_root, below_one = _divalent_layer_coefficients(zeta)
    q = product(k, decay)
    # ψ = ln(q − q*) + ln(q + 2 + √3) − 2 ln(1 − q), with q − q* = (K − q*) D + (−q*)(1 − D) and
    # 1 − q = (1 − K) D + (1 − D): sums of non-negative terms.
    near_root = product(above_root, decay) + (2.0 - math.sqrt(3.0)) * rest
    far_root = q + constant_jet(2.0 + math.sqrt(3.0), q)
    return logarithm(near_root) + logarithm(far_root) - 2.0 * logarithm(product(below_one, decay) + rest)


def gouy_chapman_jet(y: Tensor, bottom: tuple[Tensor, Tensor], top: tuple[Tensor, Tensor],
                     debye_ratio: float, valences: tuple[float, float] = (1.0, -1.0)) -> Tensor:
    """Jet of the two-wall Gouy–Chapman profile, exact at both walls.

    `bottom`, `top`: for each wall, the jet of the ζ̂ its layer carries at (x, y) and the x-jet of
    the ζ̂ it carries at the other wall (for uniform walls both are the constant ζ̂). Each wall
    contributes its single-wall layer (`layer_jet`: 4 artanh(tanh(ζ̂/4) e^{−d/ε}) for a z:z salt,
    d its distance; for uniform ζ̂ it solves the salt's Poisson–Boltzmann equation exactly), and
    what it contributes at the opposite wall, times the distance from its own wall, is subtracted
    so that ψ = ζ̂ holds exactly on both walls. A salt with no closed-form layer (closed_layer)
    takes its layer found numerically (numerical_layer_jet).
    """
    total = torch.zeros((5,) + y.shape, dtype=y.dtype, device=y.device)
    far_decay = math.exp(-1.0 / debye_ratio)
    for (zeta, zeta_far), distance, orientation in ((bottom, y, 1.0), (top, 1.0 - y, -1.0)):
        if closed_layer(valences):
            decay = torch.exp(-distance / debye_ratio)
            decay_jet = jet_of_y(decay, -orientation * decay / debye_ratio, decay / debye_ratio**2)
            rest_jet = jet_of_y(-torch.expm1(-distance / debye_ratio), orientation * decay / debye_ratio,
                                -decay / debye_ratio**2)
            near = layer_jet(zeta, decay_jet, rest_jet, valences)
            far = layer_jet(zeta_far, constant_jet(far_decay, zeta_far), constant_jet(1.0 - far_decay, zeta_far),
                            valences)  # its value at the other wall
        else:
            scaled = jet_of_y(distance / debye_ratio, torch.full_like(y, orientation / debye_ratio), torch.zeros_like(y))
            near = numerical_layer_jet(zeta, scaled, valences)
            far = numerical_layer_jet(zeta_far, constant_jet(1.0 / debye_ratio, zeta_far), valences)
        far_weight = jet_of_y(distance, torch.full_like(y, orientation), torch.zeros_like(y))  # 1 at the other wall
        total = total + near
        total = total - product(far, far_weight)
    return total


def autograd_jets(outputs: Tensor, points: Tensor) -> Tensor:
    """Jets (5, N, K) of network outputs (N, K) w.r.t. `points` (N, 2) by nested autograd.

    Three reverse passes per network whatever K is: one for the gradients of all K outputs,
    then one each for the x- and y-derivatives of those gradients (the K seeds of a pass are
    batched with vmap, `is_grads_batched`). Points are independent, so the gradient of a sum
    over points is each point's own derivative. `points` must require grad; the graph is kept
    (create_graph) so that a loss built on the jets backpropagates to the parameters.
    """
    n, k = outputs.shape
    seeds = torch.eye(k, dtype=outputs.dtype, device=outputs.device)
    (gradient,) = torch.autograd.grad(outputs, points, grad_outputs=seeds[:, None, :].expand(k, n, k),
                                      is_grads_batched=True, create_graph=True)  # (K, N, 2)
    per_output = seeds[:, :, None].expand(k, k, n)
    (d_dx,) = torch.autograd.grad(gradient[..., 0], points, grad_outputs=per_output, is_grads_batched=True,
                                  create_graph=True)
    (d_dy,) = torch.autograd.grad(gradient[..., 1], points, grad_outputs=per_output, is_grads_batched=True,
                                  create_graph=True)
    jet = torch.stack((outputs.T, gradient[..., 0], gradient[..., 1], d_dx[..., 0], d_dy[..., 1]))  # (5, K, N)
    return jet.transpose(1, 2)


def tanh_jet(value: Tensor, first: Tensor, second: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Push a pre-activation jet through tanh: value (N, W), the d first derivatives (d, N, W)
    and the d pure second ones (d, N, W) (x, y and xx, yy in the plane; y and yy on a line);
    returns the output jet as the same three pieces (see the module docstring)."""
    a = torch.tanh(value)
    slope = 1.0 - a * a
    curvature = -2.0 * a * slope
    return a, slope * first, torch.addcmul(slope * second, curvature, first**2)
