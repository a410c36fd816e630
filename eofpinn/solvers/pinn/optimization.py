"""Optimiser and learning-rate schedule of a PINN run (method.md "SOAP").

- "soap": SOAP (soap.py; Vyas et al. 2024) with the run's betas and precondition frequency;
- "adam": torch.optim.Adam with the same betas.
The learning rate decays exponentially from `learning_rate` to `learning_rate·final_lr_factor`
over the run's `steps` (factor 1: constant, the paper's choice), after an optional linear
warm-up over `warmup_steps` (it keeps the first steps, taken with weights estimated at the
initial state, from throwing the ions far from Boltzmann). It is a pure function of the
step, so a resumed run follows the same schedule.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from eofpinn.cases.model import PINNSettings
from eofpinn.solvers.pinn.soap import SOAP

OPTIMIZERS = ("soap", "adam")


def make_optimizer(settings: PINNSettings, parameters: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    if settings.optimizer == "soap":
        return SOAP(
            parameters,
            lr=settings.learning_rate,
            betas=tuple(settings.betas),
            shampoo_beta=settings.betas[1],
            eps=1e-8,
            weight_decay=0.0,
            precondition_frequency=settings.precondition_frequency,
            max_precondition_dim=10_000,
        )
    if settings.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=settings.learning_rate, betas=tuple(settings.betas))
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {settings.optimizer!r}")


def learning_rate(settings: PINNSettings, step: int) -> float:
    """lr(step) = lr₀ · factor^(step/steps), ramped up linearly over the first warmup_steps."""
    fraction = min(step / max(settings.steps, 1), 1.0)
    warmup = min((step + 1) / settings.warmup_steps, 1.0) if settings.warmup_steps else 1.0
    return warmup * settings.learning_rate * settings.final_lr_factor**fraction


def set_learning_rate(optimizer: torch.optim.Optimizer, value: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = value
