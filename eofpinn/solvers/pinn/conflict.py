"""Per-term gradients of a multi-term PINN loss and the gradient-conflict diagnostics.

For loss terms L_1 … L_K of one graph, `per_term_gradients` forms ∇_θ L_i (one reverse pass per
term, the graph kept), which loss balancers (balancing.py) and the diagnostics read:

- `pairwise_cosine`: the K×K matrix cos(∇L_i, ∇L_j);
- `gradient_alignment_score`: A = 2 ‖(1/K) Σ_i ∇L_i/‖∇L_i‖‖² − 1 (arXiv 2502.00604): 1 when
  every term pulls the same way, −1 whenever the unit gradients cancel (possible for any
  K ≥ 2, e.g. three at 120°), 2/K − 1 for K mutually orthogonal ones;
- `conflict_diagnostics`: both, and the per-term gradient norms ‖∇L_i‖₂ (`gnorm_<term>`, the
  magnitudes a reweighting such as GN acts on), as the history columns of one step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor


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
    (their mean is zero: two opposite ones, or e.g. three at 120°, for any K ≥ 2; the 1D
    coupling study reached −0.9997 with K = 3); A < 0 signals strong conflict.
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
        NaN when K = 1), ``cos_<a>__<b>`` for every pair a before b in ``names`` and
        ``gnorm_<name>`` = ‖∇L_i‖₂ for every term. Cosines and A are clipped to [−1, 1] against
        rounding; a term with an exactly zero gradient has cosine 0 with every other term (as in
        :func:`pairwise_cosine`).
    """
    if len(grads) != len(names):
        raise ValueError(f"{len(grads)} gradients for {len(names)} term names")
    first, second = torch.triu_indices(len(names), len(names), offset=1)
    pairs = pairwise_cosine(grads)[first, second]
    score = gradient_alignment_score(grads).reshape(1)
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads]).to(pairs.dtype)
    values = torch.cat((torch.cat((score, pairs)).clamp(-1.0, 1.0), norms)).tolist()  # one host sync
    cosines, norms = values[1:len(values) - len(names)], values[len(values) - len(names):]
    row = {"grad_alignment": values[0], "cos_min": min(cosines, default=math.nan)}
    row.update({f"cos_{names[a]}__{names[b]}": value
                for a, b, value in zip(first.tolist(), second.tolist(), cosines)})
    row.update({f"gnorm_{name}": value for name, value in zip(names, norms)})
    return row
