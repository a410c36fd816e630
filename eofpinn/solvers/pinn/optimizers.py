"""Optimisers of a PINN run, by name, and the learning-rate schedule (method.md "SOAP").

Each registered optimiser is one class: its `name` (and `label` for tables), its own case-file options (`Options`, a
frozen dataclass whose fields are the keys of `[pinn.optimizer]` beyond name / learning_rate /
final_lr_factor / warmup_steps, with their defaults and ranges), its default learning rate,
whether its `step` needs a closure that re-evaluates the loss (L-BFGS), and `build`.

- "soap":  SOAP (soap.py; Vyas et al. 2024): betas, precondition_frequency, eps,
           max_precondition_dim; the Shampoo factors' rate is betas[1];
- "adam":  torch.optim.Adam: betas, eps;
- "lbfgs": torch.optim.LBFGS, full batch: history_size, max_iter (iterations per trainer step),
           line_search "strong_wolfe" | "none", max_line_search (trial points per iteration).
           Learning rate 1 by default (the line search
           scales the step); the loss weights are held fixed during each step's line search.

To add an optimiser: write its class here (name, Options, build) and add it to OPTIMIZERS;
docs/extending.md shows one.

The learning rate decays exponentially from lr₀ to lr₀·final_lr_factor over the run's steps
(factor 1: constant, the paper's choice), after an optional linear warm-up over warmup_steps.
It is a pure function of the step, so a resumed run follows the same schedule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from eofpinn.cases.pinn_settings import (
    OptimizerSettings,
    SettingError,
    check_fields,
    choices_text,
    in_range,
    one_of,
    option_values,
)
from eofpinn.solvers.pinn.soap import SOAP

BETAS = (lambda v: isinstance(v, tuple) and len(v) == 2 and all(isinstance(b, float) and 0.0 <= b < 1.0 for b in v),
         "two numbers in [0, 1), e.g. [0.95, 0.95]")
EPS = (in_range(0.0, 1e-2, open_low=True), "a number in (0, 0.01]")


class SOAPOptimizer:
    """SOAP with the paper's workshop defaults for electrokinetics (betas 0.95, 0.95)."""

    name: ClassVar[str] = "soap"
    label: ClassVar[str] = "SOAP"
    needs_closure: ClassVar[bool] = False
    default_learning_rate: ClassVar[float] = 3e-3

    @dataclass(frozen=True)
    class Options:
        betas: tuple[float, float] = (0.95, 0.95)
        precondition_frequency: int = 10
        eps: float = 1e-8
        max_precondition_dim: int = 10_000

        def __post_init__(self) -> None:
            check_fields(self, "optimizer.", {
                "betas": BETAS, "eps": EPS,
                "precondition_frequency": (in_range(1, 1_000_000, integer=True), "an integer in [1, 1e6]"),
                "max_precondition_dim": (in_range(1, 1_000_000, integer=True), "an integer in [1, 1e6]"),
            })

    @staticmethod
    def build(params: list[torch.nn.Parameter], lr: float, options: Options) -> torch.optim.Optimizer:
        return SOAP(params, lr=lr, betas=options.betas, shampoo_beta=options.betas[1], eps=options.eps,
                    weight_decay=0.0, precondition_frequency=options.precondition_frequency,
                    max_precondition_dim=options.max_precondition_dim)


class AdamOptimizer:
    """Adam with the same betas as SOAP by default (a like-for-like baseline)."""

    name: ClassVar[str] = "adam"
    label: ClassVar[str] = "Adam"
    needs_closure: ClassVar[bool] = False
    default_learning_rate: ClassVar[float] = 3e-3

    @dataclass(frozen=True)
    class Options:
        betas: tuple[float, float] = (0.95, 0.95)
        eps: float = 1e-8

        def __post_init__(self) -> None:
            check_fields(self, "optimizer.", {"betas": BETAS, "eps": EPS})

    @staticmethod
    def build(params: list[torch.nn.Parameter], lr: float, options: Options) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=lr, betas=options.betas, eps=options.eps)


class LBFGSOptimizer:
    """Full-batch L-BFGS (torch's), for polishing: one or more iterations per trainer step."""

    name: ClassVar[str] = "lbfgs"
    label: ClassVar[str] = "L-BFGS"
    needs_closure: ClassVar[bool] = True
    default_learning_rate: ClassVar[float] = 1.0
    LINE_SEARCHES: ClassVar[tuple[str, ...]] = ("strong_wolfe", "none")

    @dataclass(frozen=True)
    class Options:
        history_size: int = 50
        max_iter: int = 1
        line_search: str = "strong_wolfe"
        max_line_search: int = 25

        def __post_init__(self) -> None:
            check_fields(self, "optimizer.", {
                "history_size": (in_range(1, 10_000, integer=True), "an integer in [1, 10000]"),
                "max_iter": (in_range(1, 10_000, integer=True), "an integer in [1, 10000]"),
                "line_search": (one_of(LBFGSOptimizer.LINE_SEARCHES), choices_text(LBFGSOptimizer.LINE_SEARCHES)),
                "max_line_search": (in_range(1, 1000, integer=True), "an integer in [1, 1000]"),
            })

    @staticmethod
    def build(params: list[torch.nn.Parameter], lr: float, options: Options) -> torch.optim.Optimizer:
        line_search = None if options.line_search == "none" else options.line_search
        # Tolerances at zero: the trainer, not L-BFGS, decides when the run stops. torch's default
        # budget of function evaluations (max_iter × 5/4) leaves the strong-Wolfe search of a
        # one-iteration step no trial beyond the first: a rejected first trial then returns t = 0
        # and the next curvature pair is 0/0 (NaN). Give every iteration room for a full search.
        return torch.optim.LBFGS(params, lr=lr, max_iter=options.max_iter, history_size=options.history_size,
                                 max_eval=options.max_iter * (1 + options.max_line_search),
                                 line_search_fn=line_search, tolerance_grad=0.0, tolerance_change=0.0)


OPTIMIZERS: dict[str, Any] = {cls.name: cls for cls in (SOAPOptimizer, AdamOptimizer, LBFGSOptimizer)}


def optimizer_entry(name: str, prefix: str = "optimizer.") -> Any:
    """The registered optimiser class of `name`, or a SettingError listing the registry."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise SettingError(f"{prefix}name", f"must be {choices_text(list(OPTIMIZERS))}; got {name!r}") from None


def optimizer_options(settings: OptimizerSettings, prefix: str = "optimizer.") -> Any:
    """The optimiser's Options (defaults + what the case gave), checked; `prefix` names the
    section in messages ("polish." for the polishing phase)."""
    return option_values(optimizer_entry(settings.name, prefix).Options, settings.options, prefix)


def base_learning_rate(settings: OptimizerSettings) -> float:
    """lr₀: the case's learning_rate, or the optimiser's default when it gives none."""
    if settings.learning_rate is None:
        return optimizer_entry(settings.name).default_learning_rate
    return settings.learning_rate


def make_optimizer(settings: OptimizerSettings, parameters: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    entry = optimizer_entry(settings.name)
    return entry.build(list(parameters), base_learning_rate(settings), optimizer_options(settings))


def learning_rate(settings: OptimizerSettings, steps: int, step: int) -> float:
    """lr(step) = lr₀ · factor^(step/steps), ramped up linearly over the first warmup_steps."""
    fraction = min(step / max(steps, 1), 1.0)
    warmup = min((step + 1) / settings.warmup_steps, 1.0) if settings.warmup_steps else 1.0
    return warmup * base_learning_rate(settings) * settings.final_lr_factor**fraction


def set_learning_rate(optimizer: torch.optim.Optimizer, value: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = value
