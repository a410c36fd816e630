"""SOAP: Adam run in the eigenbasis of a Shampoo preconditioner.

Reference: N. Vyas, D. Morwani, R. Zhao, I. Shapira, D. Brandfonbrener, L. Janson,
S. Kakade, "SOAP: Improving and Stabilizing Shampoo using Adam", arXiv 2409.11321 (2024).

Algorithm, for a 2D weight W (m x n) with gradient G
-----------------------------------------------------
1. Kronecker factors (exponential moving averages with rate beta_s = shampoo_beta, default beta2)

       L <- beta_s L + (1 - beta_s) G G^T          (m x m)
       R <- beta_s R + (1 - beta_s) G^T G          (n x n)

2. Eigenbases Q_L, Q_R of L, R (columns ordered by decreasing eigenvalue). They are computed by
   ``torch.linalg.eigh`` the first time and afterwards refreshed every ``precondition_frequency``
   steps by one step of power iteration followed by a QR factorisation,

       P = L Q_L,   order the columns of P by the Rayleigh quotients diag(Q_L^T L Q_L),
       Q_L <- qr(P).Q

   The second moment V lives in the rotated basis, so its rows (columns for Q_R) are permuted
   to follow the new eigenvalue order.
3. Adam in the rotated basis. With G' = Q_L^T G Q_R,

       M <- beta1 M + (1 - beta1) G                 (first moment, original basis)
       V <- beta2 V + (1 - beta2) G'**2             (second moment, rotated basis)
       update = Q_L [ (Q_L^T M Q_R) / (sqrt(V) + eps) ] Q_R^T
       W <- W - lr * sqrt(1 - beta2**t) / (1 - beta1**t) * update

   followed by decoupled (AdamW-style) weight decay W <- (1 - lr * weight_decay) W when nonzero.

   Safeguard (``bound_update``, on by default; not in the reference implementations): each
   entry of the rotated ratio (Q_L^T M Q_R) / (sqrt(V) + eps) is clipped to 10 B, where
   B = (1 - beta1) / sqrt((1 - beta2)(1 - beta1²/beta2)) is Adam's own bound (Cauchy–Schwarz on
   the two moving averages; B = 1 for betas (0.95, 0.95), no clip when beta1² >= beta2). In a
   fixed basis Adam never exceeds B. M, kept in the original basis, and V, kept in the rotated
   one, do disagree after every basis refresh, mildly (ratios up to a few B: clipping at 3 B
   changed the iterates of the reference-comparison tests, 10 B leaves them bit-identical), and
   grossly in float32 where
   a factor is rank deficient and an entry of Q_L^T G Q_R rounds to ~0 in V while the separately
   projected M keeps a rounding residue of ~1e-7 |G|. Measured: with GN weights up to 5e8
   (ε = 0.02, quickstart settings) the gradient reached 6e5, a (1 × 64) output weight moved by
   66 in one step at lr 3e-4 (ratio ~2e5) and the run went NaN within 50 steps; in float64, or
   with the clip, it trains without NaN.

A side whose dimension exceeds ``max_precondition_dim`` uses the identity (no factor is stored
for it). Parameters that are not 2D (biases, scalars) take the plain Adam step above with
identity bases.

Step counting follows the reference implementations (the authors' code and
``pytorch_optimizer.SOAP``), whose iterates this class reproduces: a parameter's first
``step()`` only accumulates the factors and computes the first eigenbases, the parameter is not
moved; the t-th update (t = 1, 2, ...) happens on call t + 1 and uses bias corrections with t;
the factors are updated with the current gradient after the parameter update, and the QR
refresh runs right after it whenever t is a multiple of ``precondition_frequency``.

All work stays on the parameter's device; step() calls no ``.item()``. Refreshes of factors of
equal size, dtype and device are batched into one ``eigh`` / ``qr`` call.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

__all__ = ["SOAP"]

# State keys of a preconditioned side; index 0 = left (rows, dim 0), 1 = right (columns, dim 1).
_GRAM = ("gram_left", "gram_right")
_BASIS = ("basis_left", "basis_right")


def _mode_product(x: Tensor, bases: tuple[Tensor | None, Tensor | None], transpose: bool = False) -> Tensor:
    """Rotate a matrix into (``transpose=False``: Q_L^T x Q_R) or out of (``transpose=True``:
    Q_L x Q_R^T) the eigenbasis, one mode at a time.

    Each pass maps x -> x^T Q (or x^T Q^T): it contracts the row index with that mode's basis
    and moves it last, so two passes restore the layout. A ``None`` basis (identity side) only
    transposes.

    These are the same mm calls on the same (transposed-view) operands as in the reference
    implementations' mode-by-mode tensordot, so the rounding is identical. That matters more
    than it seems: while a factor is rank deficient (early steps; L = Σ G Gᵀ gains rank
    min(m, n) per step at most), coordinates in its numerical null space hold pure rounding
    noise, which Adam's division by sqrt(V) + eps amplifies and later QR refreshes turn into
    different basis vectors. Merely reassociating Q_L^T G Q_R moved the iterates of a small MLP
    by 1e-12 after one step and by 2e-2 after 30 (same loss to 3 digits).
    """
    for basis in bases:
        if basis is None:
            x = x.T
        else:
            x = x.T @ (basis.T if transpose else basis)
    return x


RATIO_CLIP = 10.0  # the rotated Adam ratio is clipped to RATIO_CLIP × adam_ratio_bound


def adam_ratio_bound(beta1: float, beta2: float) -> float:
    """Largest |m_t| / sqrt(v_t) Adam's moving averages allow (any gradients, any t):
    (1 - beta1) / sqrt((1 - beta2)(1 - beta1²/beta2)); infinite when beta1² >= beta2."""
    r = beta1**2 / beta2 if beta2 > 0.0 else math.inf
    if r >= 1.0:
        return math.inf
    return (1.0 - beta1) / math.sqrt((1.0 - beta2) * (1.0 - r))


def _descending_eigenbasis(grams: Tensor) -> Tensor:
    """Eigenvectors of a batch of symmetric matrices, columns by decreasing eigenvalue."""
    try:
        _, vectors = torch.linalg.eigh(grams)
    except RuntimeError:
        # eigh can fail to converge in float32 for badly scaled factors; float64 rarely does.
        _, vectors = torch.linalg.eigh(grams.to(torch.float64))
        vectors = vectors.to(grams.dtype)
    return torch.flip(vectors, dims=[-1])


class SOAP(torch.optim.Optimizer):
    """SOAP optimiser (Vyas et al. 2024): Adam in the eigenbasis of Shampoo's Kronecker factors.

    Args:
        params: parameters or parameter groups.
        lr: learning rate.
        betas: (beta1, beta2) of the first and (rotated) second moments.
        shampoo_beta: decay rate of the Kronecker factors L, R; ``None`` uses beta2.
        eps: added to sqrt(V) in the denominator.
        weight_decay: decoupled (AdamW-style) weight decay, applied after the update.
        precondition_frequency: steps between eigenbasis refreshes (power iteration + QR).
        max_precondition_dim: a side larger than this uses the identity instead of a factor.
        correct_bias: apply Adam's bias corrections to the step size.
        qr_dtype: dtype of the QR in the refresh. Default float32, as in the reference
            implementations (QR has no half-precision kernels; float32 orthogonality is ample
            for a preconditioner basis), which this class then reproduces bit for bit also for
            float64 parameters. ``None``: the parameter's dtype, raised to at least float32.
        batch_refresh: stack factors of equal size into one ``eigh``/``qr`` call.
        bound_update: clip the rotated Adam ratio to Adam's bound B (see the module docstring);
            ``False`` reproduces the reference implementations exactly.

    Attributes:
        refresh_count: number of ``step()`` calls that recomputed at least one eigenbasis
            (the initial ``eigh`` included); not part of ``state_dict()``.
        factor_refresh_count: number of individual factor eigenbases recomputed.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 3e-4,
        betas: tuple[float, float] = (0.95, 0.95),
        shampoo_beta: float | None = None,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        precondition_frequency: int = 2,
        max_precondition_dim: int = 10000,
        correct_bias: bool = True,
        qr_dtype: torch.dtype | None = torch.float32,
        batch_refresh: bool = True,
        bound_update: bool = True,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if shampoo_beta is not None and not 0.0 <= shampoo_beta < 1.0:
            raise ValueError(f"shampoo_beta must lie in [0, 1), got {shampoo_beta}")
        if eps < 0.0 or weight_decay < 0.0:
            raise ValueError("eps and weight_decay must be >= 0")
        if precondition_frequency < 1 or max_precondition_dim < 1:
            raise ValueError("precondition_frequency and max_precondition_dim must be >= 1")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            shampoo_beta=shampoo_beta,
            eps=eps,
            weight_decay=weight_decay,
            precondition_frequency=precondition_frequency,
            max_precondition_dim=max_precondition_dim,
            correct_bias=correct_bias,
            bound_update=bound_update,
        )
        super().__init__(params, defaults)
        self.qr_dtype = qr_dtype
        self.batch_refresh = batch_refresh
        self.refresh_count = 0
        self.factor_refresh_count = 0

    # ------------------------------------------------------------------ state

    @staticmethod
    def _init_state(p: Tensor, state: dict[str, Any], max_dim: int) -> None:
        """Zero moments and factors; a side gets a factor only if it is small enough."""
        state["step"] = 0  # number of parameter updates done (t)
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        for side in (0, 1):
            size = p.shape[side] if p.dim() == 2 else None
            use = size is not None and size <= max_dim
            state[_GRAM[side]] = p.new_zeros(size, size) if use else None
            state[_BASIS[side]] = None

    @staticmethod
    def _accumulate_factors(grad: Tensor, state: dict[str, Any], beta_s: float) -> None:
        """L <- beta_s L + (1 - beta_s) G G^T and R likewise with G^T G."""
        left, right = state["gram_left"], state["gram_right"]
        if left is not None:
            left.lerp_(grad @ grad.T, 1.0 - beta_s)
        if right is not None:
            right.lerp_(grad.T @ grad, 1.0 - beta_s)

    # ------------------------------------------------------------------ step

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Take one optimisation step; returns the closure's loss if a closure is given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        needs_eigh: list[tuple[dict[str, Any], int]] = []
        needs_qr: list[tuple[dict[str, Any], int]] = []
        for group in self.param_groups:
            beta2 = group["betas"][1]
            beta_s = group["shampoo_beta"] if group["shampoo_beta"] is not None else beta2
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("SOAP does not support sparse gradients")
                state = self.state[p]
                if len(state) == 0:
                    # First call: only statistics, the parameter does not move.
                    self._init_state(p, state, group["max_precondition_dim"])
                    if p.dim() == 2:
                        self._accumulate_factors(p.grad, state, beta_s)
                        needs_eigh += [(state, s) for s in (0, 1) if state[_GRAM[s]] is not None]
                    continue
                self._update_parameter(p, state, group)
                if p.dim() == 2:
                    self._accumulate_factors(p.grad, state, beta_s)
                    if state["step"] % group["precondition_frequency"] == 0:
                        needs_qr += [(state, s) for s in (0, 1) if state[_GRAM[s]] is not None]

        if needs_eigh:
            self._initial_eigenbases(needs_eigh)
        if needs_qr:
            self._power_iteration_refresh(needs_qr)
        if needs_eigh or needs_qr:
            self.refresh_count += 1
            self.factor_refresh_count += len(needs_eigh) + len(needs_qr)
        return loss

    def _update_parameter(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        """One Adam step in the current eigenbasis (bases refreshed afterwards by the caller)."""
        beta1, beta2 = group["betas"]
        state["step"] += 1
        t = state["step"]
        step_size = group["lr"]
        if group["correct_bias"]:
            step_size *= math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)

        grad = p.grad
        bases = (state["basis_left"], state["basis_right"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1.0 - beta1)
        if p.dim() == 2:
            exp_avg_sq.lerp_(_mode_product(grad, bases).square(), 1.0 - beta2)
            denom = exp_avg_sq.sqrt().add_(group["eps"])
            ratio = _mode_product(exp_avg, bases) / denom
            bound = adam_ratio_bound(beta1, beta2)
            if group.get("bound_update", True) and math.isfinite(bound):
                ratio.clamp_(-RATIO_CLIP * bound, RATIO_CLIP * bound)
            direction = _mode_product(ratio, bases, transpose=True)
        else:
            exp_avg_sq.lerp_(grad.square(), 1.0 - beta2)
            direction = exp_avg / exp_avg_sq.sqrt().add_(group["eps"])
        p.add_(direction, alpha=-step_size)
        if group["weight_decay"] != 0.0:
            p.mul_(1.0 - group["lr"] * group["weight_decay"])

    # ------------------------------------------------------------------ refreshes

    def _batches(self, items: list[tuple[dict[str, Any], int]]) -> list[list[tuple[dict[str, Any], int]]]:
        """Group (state, side) pairs whose factors can share one batched decomposition."""
        if not self.batch_refresh:
            return [[item] for item in items]
        groups: dict[tuple, list] = defaultdict(list)
        for state, side in items:
            gram = state[_GRAM[side]]
            groups[(gram.shape[0], gram.dtype, gram.device)].append((state, side))
        return list(groups.values())

    def _initial_eigenbases(self, items: list[tuple[dict[str, Any], int]]) -> None:
        """First eigenbases by eigh of the factors."""
        for batch in self._batches(items):
            grams = torch.stack([state[_GRAM[side]] for state, side in batch])
            bases = _descending_eigenbasis(grams)
            for (state, side), basis in zip(batch, bases.unbind(0)):
                state[_BASIS[side]] = basis.clone()

    def _power_iteration_refresh(self, items: list[tuple[dict[str, Any], int]]) -> None:
        """Refresh bases by one power-iteration step + QR and permute V to the new order."""
        for batch in self._batches(items):
            grams = torch.stack([state[_GRAM[side]] for state, side in batch])
            bases = torch.stack([state[_BASIS[side]] for state, side in batch])
            power = grams @ bases
            # Rayleigh quotients q_k^T L q_k estimate the eigenvalues in the current basis.
            rayleigh = (bases * power).sum(dim=-2)
            order = torch.argsort(rayleigh, dim=-1, descending=True)
            power = torch.gather(power, -1, order.unsqueeze(-2).expand_as(power))
            qr_dtype = self.qr_dtype or torch.promote_types(power.dtype, torch.float32)
            new_bases = torch.linalg.qr(power.to(qr_dtype)).Q.to(power.dtype)
            for (state, side), basis, perm in zip(batch, new_bases.unbind(0), order.unbind(0)):
                state[_BASIS[side]].copy_(basis)
                state["exp_avg_sq"] = state["exp_avg_sq"].index_select(side, perm)
