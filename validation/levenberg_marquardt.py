"""Levenberg–Marquardt for a small least-squares problem min ‖r(θ)‖², dense J.

The step solves (JᵀJ + μ D) δ = −Jᵀr with D the diagonal of JᵀJ (Marquardt's scaling); a step
that lowers ‖r‖² is taken and μ shrinks by the gain ratio ρ (actual over predicted decrease) as
μ ← μ max(1/3, 1 − (2ρ − 1)³); a step that does not is retried with μ four times larger (Nielsen's
update). JᵀJ has the size of θ squared, so this is for networks of a few thousand parameters.
With `blocks` (slices of θ) JᵀJ is kept block-diagonal: each block's own Gauss–Newton matrix,
the couplings between blocks dropped. J is formed once per θ: an iteration that takes no step
(30 rejected trials) keeps it, and a caller that has J at the start already passes it in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import torch


def levenberg_marquardt(residual: Callable[[torch.Tensor], torch.Tensor],
                        jacobian: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor, iterations: int,
                        budget: float | None = None, damping: float = 1e-3, log: Callable[[str], None] | None = None,
                        log_every: int = 10, monitor: Callable[[torch.Tensor], str] | None = None,
                        blocks: Sequence[slice] | None = None, first_jacobian: torch.Tensor | None = None
                        ) -> torch.Tensor:
    """θ after `iterations` LM iterations (or `budget` seconds) from `theta`; `jacobian(θ)` is
    ∂r/∂θ, (rows of r) × (θ's size), and `first_jacobian` its value at `theta` if the caller has it.
    Returns the last accepted θ. Every `log_every` iterations `log` gets a line (with `monitor(θ)`
    appended, e.g. errors against a reference)."""
    start = time.perf_counter()
    with torch.no_grad():
        r = residual(theta)
    loss, mu = float(r @ r), damping
    J = first_jacobian
    for it in range(iterations):
        if J is None:  # θ moved (or the first iteration without first_jacobian)
            J = jacobian(theta)
        with torch.no_grad():
            g = J.T @ r
            if blocks is None:
                A = J.T @ J
            else:
                A = torch.zeros(J.shape[1], J.shape[1], dtype=J.dtype)
                for block in blocks:
                    A[block, block] = J[:, block].T @ J[:, block]
            diag = torch.diagonal(A) + 1e-12 * torch.diagonal(A).max()
            for _ in range(30):
                factor, info = torch.linalg.cholesky_ex(A + mu * torch.diag(diag))
                if info:
                    mu *= 4.0
                    continue
                step = -torch.cholesky_solve(g[:, None], factor)[:, 0]
                trial = residual(theta + step)
                new = float(trial @ trial)
                if math.isfinite(new) and new < loss:
                    predicted = float(-2.0 * (g @ step) - step @ (A @ step))
                    rho = (loss - new) / max(predicted, 1e-300)
                    theta, r, loss, J = theta + step, trial, new, None
                    mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                    break
                mu *= 4.0
        elapsed = time.perf_counter() - start
        over = budget is not None and elapsed > budget
        if log is not None and (it % log_every == 0 or it == iterations - 1 or over):
            extra = f"  {monitor(theta)}" if monitor is not None else ""
            log(f"lm {it:5d} loss {loss:.3e}  mu {mu:.1e}  {elapsed:6.0f} s{extra}" + (" (budget reached)" if over else ""))
        if over:
            break
    return theta


def require_block_weights_only(model, who: str) -> None:
    """Stop (SystemExit) unless the blocks' weights are the model's only trainable parameters:
    the Jacobians here are taken with respect to those (per-loss adapters live in the blocks and
    count among them) and nothing else: no trainable field or fluxes."""
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    if trainable != {id(p) for p in model.networks.blocks.parameters()}:
        raise SystemExit(f"{who}: only the blocks' weights may be trainable (no trainable field or fluxes)")
