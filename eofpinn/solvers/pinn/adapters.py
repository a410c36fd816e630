"""Per-loss low-rank adapters on a shared trunk (arXiv 2605.10136, Kim & N'guessan 2026).

Reading of the paper (only its abstract was available; the rest is eofpinn's design): when
the gradients of the K loss terms conflict in direction, persistently, no reweighting helps
(a cosine does not change under scaling); giving each loss a set of parameters of its own — a
low-rank adapter per loss attached to a shared trunk — gives each loss a direct gradient
pathway. What eofpinn does:

Adapters. On every hidden-to-hidden weight W (m × n, m = n = width) of every MLP block, one
adapter per loss term k = 1 … K of rank r = `adapter_rank`:

    W_eff = W + Σ_k B_k A_k,     A_k (r × n) ~ U(−1/√n, 1/√n),  B_k (m × r) = 0 at the start

so a run starts exactly from its trunk (LoRA's initialisation, Hu et al. 2021, without the
α/r factor). The input and output layers (n_in → width, width → n_out) have none: their
rank is at most n_in or n_out already. Every forward pass — the loss, the errors, the
solution a run writes — uses W_eff, i.e. the trunk plus all K adapters; the jet code is
unchanged (networks.mlp_jets over the list of (W_eff, b)). Parameters: K · r · 2·width per
adapted layer, (depth − 1) of them per block.

Routing ("routed", the default). Term k's gradient reaches the trunk and adapter k only:

    g_k = (∇_trunk L_k,  0, …, 0,  ∇_{A_k, B_k} L_k,  0, …, 0)
    step gradient  Σ_k λ_k g_k:  trunk Σ_k λ_k ∇L_k,   adapter k  λ_k ∇_{A_k,B_k} L_k

with ∇_{B_k} L_k = (∂L_k/∂W_eff) A_kᵀ and ∇_{A_k} L_k = B_kᵀ (∂L_k/∂W_eff). The g_k are the
per-term gradients the balancer (GN) and the conflict diagnostics see. They come from ONE
batched backward pass, torch.autograd.grad(terms, θ, grad_outputs=I_K, is_grads_batched=True),
followed by masking the other terms' adapters. The routed update is not the gradient of one
objective, so a closure-based optimiser (L-BFGS, e.g. the polishing phase) gets the plain
gradient of Σ λ_k L_k instead. "unrouted": the adapters are ordinary parameters trained with
the weighted-sum gradient like the trunk (one backward pass per step as without adapters).

Cost. A routed step needs the K per-term gradients at every step, i.e. K backward passes
(batched), where an ordinary step needs one; see method.md "Per-loss adapters" for the
measured step times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

# The adapters draw A_k from their own generator (seed + this), so the trunk, the points and
# every other random stream of a run are those of the same run without adapters.
SEED_OFFSET = 2605_10136


class LayerAdapters(nn.Module):
    """The K adapters of one weight W (m × n): A_k (r × n) and B_k (m × r), one pair per term."""

    def __init__(self, rows: int, columns: int, n_terms: int, rank: int, generator: torch.Generator):
        super().__init__()
        bound = 1.0 / math.sqrt(columns)
        self.a = nn.ParameterList(
            nn.Parameter((2.0 * torch.rand(rank, columns, generator=generator, dtype=torch.float64) - 1.0) * bound)
            for _ in range(n_terms))
        self.b = nn.ParameterList(nn.Parameter(torch.zeros(rows, rank, dtype=torch.float64)) for _ in range(n_terms))

    def delta(self) -> Tensor:
        """Σ_k B_k A_k as one product [B_1 … B_K] [A_1; …; A_K]."""
        return torch.cat(list(self.b), dim=1) @ torch.cat(list(self.a), dim=0)

    def owned(self) -> list[tuple[nn.Parameter, int]]:
        """(parameter, term index) of every adapter parameter."""
        return [(p, k) for k, (a, b) in enumerate(zip(self.a, self.b)) for p in (a, b)]


def mlp_blocks(model: nn.Module) -> list[nn.Module]:
    """Every networks.MLP inside `model` (the blocks of the 2D channel or the 1D study)."""
    from eofpinn.solvers.pinn.networks import MLP

    return [m for m in model.modules() if isinstance(m, MLP)]


def attach_adapters(model: nn.Module, term_names: Sequence[str], network, seed: int,
                    device: torch.device | None = None, dtype: torch.dtype | None = None) -> Routing | None:
    """Add per-loss adapters to every MLP block of `model` as `network` ([pinn.network]) asks.

    Returns the `Routing` of the adapter parameters when they are routed, else None (no
    adapters, or unrouted ones, which need nothing beyond the ordinary backward pass).
    """
    if network.adapters == "none":
        return None
    blocks = mlp_blocks(model)
    if not blocks:
        raise ValueError("[pinn.network] adapters: the model has no MLP blocks to attach adapters to")
    generator = torch.Generator().manual_seed(seed + SEED_OFFSET)
    for block in blocks:
        block.attach_adapters(len(term_names), network.adapter_rank, generator)
    model.to(device=device, dtype=dtype)
    if network.adapter_routing == "unrouted":
        return None
    return Routing(model)


class Routing:
    """Routed per-term gradients g_k (module docstring) of a model with adapters."""

    def __init__(self, model: nn.Module):
        self.owner = {id(p): k for block in mlp_blocks(model) for layer in block.adapters.values()
                      for p, k in layer.owned()}

    def gradients(self, terms: Tensor, params: Sequence[Tensor]) -> list[Tensor]:
        """g_1 … g_K, flattened over `params`: one batched backward pass, then each adapter's
        rows kept for its own term only. The graph is kept (diagnostics, a closure)."""
        n_terms = terms.numel()
        eye = torch.eye(n_terms, dtype=terms.dtype, device=terms.device)
        parts = torch.autograd.grad(terms, params, grad_outputs=eye, is_grads_batched=True, retain_graph=True,
                                    allow_unused=True)
        flat = []
        for g, p in zip(parts, params):
            g = torch.zeros((n_terms,) + p.shape, dtype=p.dtype, device=p.device) if g is None else g
            g = g.reshape(n_terms, -1)
            k = self.owner.get(id(p))
            if k is not None:  # adapter k: only term k's gradient goes in
                g = torch.zeros_like(g).index_copy_(0, torch.tensor([k], device=g.device), g[k:k + 1])
            flat.append(g)
        return list(torch.cat(flat, dim=1).unbind(0))


def adapter_parameter_count(model: nn.Module) -> int:
    """Parameters of all adapters of `model` (0 without adapters)."""
    return sum(p.numel() for block in mlp_blocks(model) for layer in block.adapters.values()
               for p, _ in layer.owned())
