"""Loss-term balancing for multi-term PINN losses, and gradient-conflict diagnostics.

The objective is L(θ) = Σ_i λ_i L_i(θ) with one term per PDE residual / boundary group.
Schemes (one class each, same interface):

- ``none`` (:class:`NoWeighting`): λ_i = 1 always.
- ``gn`` (:class:`GradNormWeighting`, inverse-gradient-norm balancing, the "GN" of SOAP+GN,
  arXiv 2605.23391): with n_i = ‖∇_θ L_i‖₂ over all parameters,
  λ̂_i = mean_j(n_j) / n_i and λ_i ← m λ_i + (1 − m) λ̂_i.
- ``lra`` (:class:`LearningRateAnnealing`, max-gradient variant of Wang, Teng & Perdikaris,
  SIAM J. Sci. Comput. 43 (2021), arXiv 2001.04536): relative to a reference term r,
  λ̂_i = max_θ |∇_θ L_r| / mean_θ |∇_θ L_i|, same moving average, λ_r = 1.

Step indexing (all schemes): steps are counted from 1, step 1 being the first optimisation
step. With ``update_every = F`` the weights are updated on steps 1, F + 1, 2F + 1, ..., i.e.
when (step − 1) % F == 0, before that step's gradient is formed.

Cost: per-term gradients (one backward per term) are needed only on update steps; every other
step is one backward pass of the weighted sum. :meth:`LossWeighting.objective` packages that::

    loss = weighting.objective(terms, params, step)   # per-term grads only if an update is due
    loss.backward(); optimizer.step()

The weights are a tensor on the training device and are never read back to the host in the
training path (no ``.item()``); :meth:`LossWeighting.weights_list` is the logging helper.

Diagnostics (arXiv 2502.00604): :func:`pairwise_cosine` and :func:`gradient_alignment_score`;
:func:`conflict_diagnostics` turns both into the history columns of one training step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import math

import torch
from torch import Tensor

__all__ = [
    "LossWeighting",
    "NoWeighting",
    "GradNormWeighting",
    "LearningRateAnnealing",
    "make_weighting",
    "per_term_gradients",
    "weighted_loss",
    "pairwise_cosine",
    "gradient_alignment_score",
    "conflict_diagnostics",
]


# --------------------------------------------------------------------------- helpers


def per_term_gradients(losses: Sequence[Tensor], params: Iterable[Tensor]) -> list[Tensor]:
    """Gradient of each loss term w.r.t. all parameters, flattened and concatenated.

    One ``torch.autograd.grad`` call per term, keeping the graph so that the weighted sum can
    still be back-propagated afterwards. Parameters a term does not depend on contribute zeros.

    Args:
        losses: K scalar loss terms sharing one graph.
        params: the parameters θ (all of them, in a fixed order).

    Returns:
        K vectors ∇_θ L_i of length Σ numel(θ), detached.
    """
    params = [p for p in params if p.requires_grad]
    grads = []
    for loss in losses:
        parts = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        grads.append(
            torch.cat(
                [
                    (g if g is not None else torch.zeros_like(p)).reshape(-1)
                    for g, p in zip(parts, params)
                ]
            )
        )
    return grads


def weighted_loss(losses: Sequence[Tensor], weights: Tensor) -> Tensor:
    """Σ_i λ_i L_i with the weights treated as constants (no gradient through λ)."""
    return torch.dot(weights.detach().to(losses[0].dtype), torch.stack(list(losses)))


def _unit_vectors(grads: Sequence[Tensor]) -> Tensor:
    """Rows v_i / ‖v_i‖ (a zero vector stays zero rather than becoming NaN)."""
    stacked = torch.stack([g.reshape(-1) for g in grads])
    norms = torch.linalg.vector_norm(stacked, dim=1, keepdim=True)
    return stacked / norms.clamp_min(torch.finfo(stacked.dtype).tiny)


def pairwise_cosine(grads: Sequence[Tensor]) -> Tensor:
    """K×K matrix of cosines cos(∇L_i, ∇L_j); symmetric with unit diagonal (for nonzero v_i)."""
    unit = _unit_vectors(grads)
    return unit @ unit.T


def gradient_alignment_score(grads: Sequence[Tensor]) -> Tensor:
    """Alignment score A = 2 ‖(1/K) Σ_i v_i/‖v_i‖‖² − 1 of arXiv 2502.00604.

    A = 1 when all term gradients point the same way; A = −1 whenever the unit gradients cancel
    (their mean is zero: two opposite ones, or e.g. three at 120°, for any K ≥ 2 — method.md's
    "only for K = 2" is too strong; the 1D coupling study reached −0.9997 with K = 3);
    A < 0 signals strong conflict.
    """
    mean_direction = _unit_vectors(grads).mean(dim=0)
    return 2.0 * mean_direction.square().sum() - 1.0


def conflict_diagnostics(grads: Sequence[Tensor], names: Sequence[str]) -> dict[str, float]:
    """History columns of the gradient-conflict diagnostics of one step (one host sync).

    Args:
        grads: the K per-term gradients ∇_θ L_i at one θ (:func:`per_term_gradients`).
        names: the K term names, in the same order.

    Returns:
        ``grad_alignment`` (the score A), ``cos_min`` (the cosine of the most conflicting pair;
        NaN when K = 1) and ``cos_<a>__<b>`` for every pair a before b in ``names``. Values are
        clipped to [−1, 1] against rounding; a term with an exactly zero gradient has cosine 0
        with every other term (as in :func:`pairwise_cosine`).
    """
    if len(grads) != len(names):
        raise ValueError(f"{len(grads)} gradients for {len(names)} term names")
    first, second = torch.triu_indices(len(names), len(names), offset=1)
    pairs = pairwise_cosine(grads)[first, second]
    score = gradient_alignment_score(grads).reshape(1)
    values = torch.cat((score, pairs)).clamp(-1.0, 1.0).tolist()
    row = {"grad_alignment": values[0], "cos_min": min(values[1:], default=math.nan)}
    row.update({f"cos_{names[a]}__{names[b]}": value
                for a, b, value in zip(first.tolist(), second.tolist(), values[1:])})
    return row


# --------------------------------------------------------------------------- schemes


class LossWeighting:
    """Base class: weights λ (tensor on the training device) and an update rule.

    Args:
        n_terms: number of loss terms K.
        update_every: F, steps between weight updates (updates on steps 1, F+1, 2F+1, ...).
        momentum: m in λ ← m λ + (1 − m) λ̂.
        init_from_first: at the first update set λ = λ̂ instead of averaging with λ = 1.
        device, dtype: where the weights live.
    """

    name = "base"

    def __init__(
        self,
        n_terms: int,
        *,
        update_every: int = 1000,
        momentum: float = 0.9,
        init_from_first: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if n_terms < 1 or update_every < 1 or not 0.0 <= momentum <= 1.0:
            raise ValueError("need n_terms >= 1, update_every >= 1 and 0 <= momentum <= 1")
        self.n_terms = n_terms
        self.update_every = update_every
        self.momentum = momentum
        self.init_from_first = init_from_first
        self.weights = torch.ones(n_terms, device=device, dtype=dtype)
        self.n_updates = 0

    def needs_update(self, step: int) -> bool:
        """Whether step (1-based) is an update step: (step − 1) % F == 0."""
        return (step - 1) % self.update_every == 0

    def estimate(self, grads: Sequence[Tensor]) -> Tensor:
        """Instantaneous weights λ̂ from the per-term gradients (scheme-specific)."""
        raise NotImplementedError

    def update(self, grads: Sequence[Tensor]) -> None:
        """Fold the estimate from per-term gradients ∇_θ L_i into λ by the moving average."""
        if len(grads) != self.n_terms:
            raise ValueError(f"expected {self.n_terms} gradients, got {len(grads)}")
        self._fold(self.estimate(grads))

    def _fold(self, estimate: Tensor) -> None:
        """λ ← m λ + (1 − m) λ̂ (or λ = λ̂ at the first update with ``init_from_first``)."""
        estimate = estimate.to(self.weights)
        if self.n_updates == 0 and self.init_from_first:
            self.weights = estimate.clone()
        else:
            self.weights = self.momentum * self.weights + (1.0 - self.momentum) * estimate
        self.n_updates += 1

    def objective(self, losses: Sequence[Tensor], params: Iterable[Tensor], step: int) -> Tensor:
        """Σ λ_i L_i for this step, updating λ first if the step is an update step.

        Per-term gradients (K backward passes) are computed only on update steps.
        """
        if self.needs_update(step):
            self.update(per_term_gradients(losses, params))
        return weighted_loss(losses, self.weights)

    def weights_list(self) -> list[float]:
        """Logging helper: the weights as Python floats (synchronises with the device)."""
        return self.weights.detach().cpu().tolist()

    def state_dict(self) -> dict[str, Any]:
        """Weights and update count, for exact resume."""
        return {"weights": self.weights.clone(), "n_updates": self.n_updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (weights moved to this object's device/dtype)."""
        self.weights = state["weights"].to(self.weights).clone()
        self.n_updates = int(state["n_updates"])


class NoWeighting(LossWeighting):
    """All weights 1, never updated (no per-term gradients are ever computed)."""

    name = "none"

    def needs_update(self, step: int) -> bool:
        """Never."""
        return False

    def estimate(self, grads: Sequence[Tensor]) -> Tensor:
        """Ones."""
        return torch.ones_like(self.weights)


class GradNormWeighting(LossWeighting):
    """Inverse-gradient-norm balancing: λ̂_i = mean_j(n_j) / n_i, n_i = ‖∇_θ L_i‖₂.

    A term with a zero gradient (e.g. a boundary term made exact by construction) carries no
    information; its estimate is its current weight, so the average leaves it unchanged.
    """

    name = "gn"

    def estimate(self, grads: Sequence[Tensor]) -> Tensor:
        """λ̂ from the per-term gradients."""
        norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
        return self.estimate_from_norms(norms)

    def update_from_norms(self, norms: Tensor) -> None:
        """Same as :meth:`update`, from the gradient norms n_i = ‖∇_θ L_i‖₂ (a K-vector)."""
        if norms.numel() != self.n_terms:
            raise ValueError(f"expected {self.n_terms} norms, got {norms.numel()}")
        self._fold(self.estimate_from_norms(norms))

    def estimate_from_norms(self, norms: Tensor) -> Tensor:
        """λ̂ from the gradient norms n_i (mean over nonzero norms)."""
        norms = norms.to(self.weights)
        alive = norms > 0
        mean = norms.sum() / alive.sum().clamp_min(1)
        ratio = mean / torch.where(alive, norms, torch.ones_like(norms))
        return torch.where(alive, ratio, self.weights)


class LearningRateAnnealing(LossWeighting):
    """Learning-rate annealing, max-gradient variant (Wang, Teng & Perdikaris 2021).

    λ̂_i = max_θ |∇_θ L_ref| / mean_θ |∇_θ L_i| for i ≠ ref, with the unweighted terms L_i;
    the reference term keeps λ_ref = 1. Zero-gradient terms keep their weight.

    Args:
        reference: index of the reference term (default 0, typically the PDE residual).
        (others as :class:`LossWeighting`)
    """

    name = "lra"

    def __init__(self, n_terms: int, *, reference: int = 0, **kwargs: Any) -> None:
        super().__init__(n_terms, **kwargs)
        if not 0 <= reference < n_terms:
            raise ValueError(f"reference index {reference} out of range for {n_terms} terms")
        self.reference = reference

    def estimate(self, grads: Sequence[Tensor]) -> Tensor:
        """λ̂ from the per-term gradients; exactly 1 for the reference term."""
        peak = grads[self.reference].abs().max().to(self.weights)
        mean_abs = torch.stack([g.abs().mean() for g in grads]).to(self.weights)
        alive = mean_abs > 0
        ratio = peak / torch.where(alive, mean_abs, torch.ones_like(mean_abs))
        estimate = torch.where(alive, ratio, self.weights)
        estimate[self.reference] = 1.0
        return estimate


_SCHEMES: dict[str, type[LossWeighting]] = {
    cls.name: cls for cls in (NoWeighting, GradNormWeighting, LearningRateAnnealing)
}


def make_weighting(scheme: str, n_terms: int, **kwargs: Any) -> LossWeighting:
    """Build a weighting by name: ``"none"``, ``"gn"`` or ``"lra"``."""
    try:
        cls = _SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unknown weighting {scheme!r}; choose from {sorted(_SCHEMES)}") from None
    return cls(n_terms, **kwargs)
