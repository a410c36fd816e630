"""Loss balancers: the weights λ of the objective L(θ) = Σ_i λ_i L_i(θ), by name.

A balancer is one class with explicit state, in the spirit of diffrax's step-size controllers:

    state = balancer.init(term_names, device, dtype)           # a dict of tensors and numbers
    if balancer.needs_gradients(state, step): grads = per-term gradients ∇_θ L_i   (else None)
    weights, state = balancer.update(state, step, losses, grads)

`step` counts optimisation steps from 0 (the parameters θ_step, before update `step`); `losses`
are the K unweighted terms at θ_step (detached); `grads` the K flattened per-term gradients
(conflict.per_term_gradients), passed only when the balancer asked for them. The state is
saved in checkpoints, so a resumed run continues with the same weights. A balancer's case-file
options (`[pinn.balancing]` keys beside `name`) are its `Options` dataclass.

Registered:
- "none" (`NoBalancing`): λ_i = 1.
- "gn" (`GradNorm`, inverse-gradient-norm balancing, the "GN" of SOAP+GN, arXiv 2605.23391):
  every `every` steps (from step 0), with n_i = ‖∇_θ L_i‖₂, λ̂_i = mean_j(n_j) / n_i and
  λ_i ← m λ_i + (1 − m) λ̂_i (m = `momentum`; `init_from_first`: λ = λ̂ at the first update).
  A term with a zero gradient keeps its weight, and the mean runs over the others.
- "lra" (`LearningRateAnnealing`, max-gradient variant of Wang, Teng & Perdikaris, SIAM J. Sci.
  Comput. 43 (2021), arXiv 2001.04536): λ̂_i = max_θ |∇L_r| / mean_θ |∇L_i| relative to the
  term r = `reference`, same moving average, λ_r = 1.
- "relobralo" (`ReLoBRaLo`, Bischof & Kraus, arXiv 2110.09813): loss-based, no gradients;
  see its docstring.

To add a balancer: one class here (name, Options, init, needs_gradients, update) and one entry
in BALANCERS; docs/extending.md walks through ReLoBRaLo as the example.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from eofpinn.cases.pinn_settings import (
    FLAG,
    BalancingSettings,
    SettingError,
    at_least,
    check_fields,
    choices_text,
    in_range,
    option_values,
)
from eofpinn.solvers.pinn.losses import ION_SPREAD_TERMS

State = dict[str, Any]
EVERY = (in_range(1, 100_000_000, integer=True), "an integer ≥ 1 (steps between weight updates)")
MOMENTUM = (in_range(0.0, 1.0), "a number in [0, 1]")


class Balancer:
    """Interface (and the all-ones weights every balancer starts from)."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # in tables, e.g. "SOAP+GN"

    @dataclass(frozen=True)
    class Options:
        pass

    def __init__(self, options: Any = None):
        self.options = options if options is not None else self.Options()

    def init(self, term_names: Sequence[str], device: torch.device | str | None = None,
             dtype: torch.dtype = torch.float32) -> State:
        return {"weights": torch.ones(len(term_names), device=device, dtype=dtype), "updates": 0}

    def needs_gradients(self, state: State, step: int) -> bool:
        return False

    def update(self, state: State, step: int, losses: Tensor, grads: Sequence[Tensor] | None) -> tuple[Tensor, State]:
        return state["weights"], state


class NoBalancing(Balancer):
    """λ_i = 1, never updated (no per-term gradients are ever formed)."""

    name = "none"
    label = "none"


def _folded(state: State, estimate: Tensor, momentum: float, init_from_first: bool) -> tuple[Tensor, State]:
    """λ ← m λ + (1 − m) λ̂, or λ = λ̂ at the first update with `init_from_first`."""
    weights = state["weights"]
    estimate = estimate.to(weights)
    if state["updates"] == 0 and init_from_first:
        new = estimate.clone()
    else:
        new = momentum * weights + (1.0 - momentum) * estimate
    return new, {**state, "weights": new, "updates": state["updates"] + 1}


class GradNorm(Balancer):
    """Inverse-gradient-norm balancing: λ̂_i = mean_j(n_j) / n_i, n_i = ‖∇_θ L_i‖₂.

    With `max_ratio` = r > 0 the estimates are clipped to at most r × the smallest of them before
    they are folded in: a term that is nearly satisfied has a tiny gradient and would get a weight
    10⁵–10⁶ times that of the term with the largest residual (cases/zeta_step.toml: end_velocity
    7e5 at a loss of 3e-10, Stokes-x 0.2 at 4e-2; docs/method.md "The excess pressure that the PINN
    does not build"). 0: no clipping (the paper's rule).

    `ion_spread_factor` f multiplies the estimates of the ion-flux spread terms (spread_plus,
    spread_minus, losses.flux_spread_terms) after the clipping: those terms hold each ion's flux
    equal through every section, a condition spread over the whole channel whose gradient is small,
    so the clip holds them at its ceiling (docs/method.md "The 2D recipe, revised"). 1: as balanced.
    `wall_ions_factor` does the same for the no-flux walls' term `wall_ions`, whose rms error
    leaks each ion's flux through the walls (docs/method.md "The ions that leak through the
    walls": measured, the leak falls and the interior's residual takes its place). 1: as balanced.

    `cap_poisson` false leaves Poisson's estimate out of the clip (true: clipped like every term).
    The smallest estimate, which sets the ceiling, is Stokes-x's, whose gradient is dominated by the
    double layers' body force and grows with Ê/ε²; Poisson's gradient grows with the walls' charge.
    Where the drive is strong and the walls weak (validation/heldout/issue_asym.toml: Ê = 1, ε = 0.04,
    |ζ̂| ≤ 0.2) the ceiling holds Poisson some 170× under its estimate for the whole run, ψ's error
    sets the slip, and u and v came out 10–26× over their targets (docs/method.md "The GN cap
    starves Poisson"). The 2D recipe sets it false (cases.pinn_settings.WALL_PATTERN_RECIPE)."""

    name = "gn"
    label = "GN"

    @dataclass(frozen=True)
    class Options:
        every: int = 100
        momentum: float = 0.9
        init_from_first: bool = False
        max_ratio: float = 0.0
        ion_spread_factor: float = 1.0
        wall_ions_factor: float = 1.0
        cap_poisson: bool = True

        def __post_init__(self) -> None:
            check_fields(self, "balancing.", {"every": EVERY, "momentum": MOMENTUM, "init_from_first": FLAG,
                                              "max_ratio": (lambda v: v == 0 or in_range(1.0, 1e12)(v),
                                                            "0 (no clipping) or a number in [1, 1e12]"),
                                              "ion_spread_factor": (in_range(0.0, 1e6, open_low=True),
                                                                    "a number in (0, 1e6]"),
                                              "wall_ions_factor": (in_range(0.0, 1e6, open_low=True),
                                                                   "a number in (0, 1e6]"),
                                              "cap_poisson": FLAG})

    def init(self, term_names: Sequence[str], device: torch.device | str | None = None,
             dtype: torch.dtype = torch.float32) -> State:
        state = super().init(term_names, device, dtype)
        factors = [self.options.ion_spread_factor if name in ION_SPREAD_TERMS
                   else self.options.wall_ions_factor if name == "wall_ions" else 1.0 for name in term_names]
        capped = [self.options.cap_poisson or name != "poisson" for name in term_names]
        return {**state, "factors": torch.tensor(factors, device=device, dtype=dtype),
                "capped": torch.tensor(capped, device=device)}

    def needs_gradients(self, state: State, step: int) -> bool:
        return step % self.options.every == 0

    def update(self, state: State, step: int, losses: Tensor, grads: Sequence[Tensor] | None) -> tuple[Tensor, State]:
        if grads is None:
            return state["weights"], state
        norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
        return self.update_from_norms(state, norms)

    def update_from_norms(self, state: State, norms: Tensor) -> tuple[Tensor, State]:
        """The same update from the gradient norms n_i alone (a K-vector)."""
        weights = state["weights"]
        norms = norms.to(weights)
        alive = norms > 0
        mean = norms.sum() / alive.sum().clamp_min(1)
        estimate = torch.where(alive, mean / torch.where(alive, norms, torch.ones_like(norms)), weights)
        if self.options.max_ratio > 0 and bool(alive.any()):
            clipped = torch.clamp(estimate, max=self.options.max_ratio * estimate[alive].min())
            capped = state.get("capped")  # (checkpoints of before cap_poisson have none: every term capped)
            estimate = clipped if capped is None else torch.where(capped.to(estimate.device), clipped, estimate)
        if "factors" in state:  # (checkpoints of before ion_spread_factor have none: factor 1)
            estimate = estimate * state["factors"].to(estimate)
        return _folded(state, estimate, self.options.momentum, self.options.init_from_first)


class LearningRateAnnealing(Balancer):
    """λ̂_i = max_θ |∇L_ref| / mean_θ |∇L_i| (i ≠ ref); the reference term keeps λ_ref = 1."""

    name = "lra"
    label = "LRA"

    @dataclass(frozen=True)
    class Options:
        every: int = 100
        momentum: float = 0.9
        reference: int = 0

        def __post_init__(self) -> None:
            check_fields(self, "balancing.", {"every": EVERY, "momentum": MOMENTUM,
                                              "reference": (at_least(0), "a term index ≥ 0")})

    def init(self, term_names: Sequence[str], device=None, dtype=torch.float32) -> State:
        if self.options.reference >= len(term_names):
            raise SettingError("balancing.reference", f"must be a term index below {len(term_names)} "
                                                      f"({', '.join(term_names)}); got {self.options.reference}")
        return super().init(term_names, device, dtype)

    def needs_gradients(self, state: State, step: int) -> bool:
        return step % self.options.every == 0

    def update(self, state: State, step: int, losses: Tensor, grads: Sequence[Tensor] | None) -> tuple[Tensor, State]:
        if grads is None:
            return state["weights"], state
        weights, ref = state["weights"], self.options.reference
        peak = grads[ref].abs().max().to(weights)
        mean_abs = torch.stack([g.abs().mean() for g in grads]).to(weights)
        alive = mean_abs > 0
        estimate = torch.where(alive, peak / torch.where(alive, mean_abs, torch.ones_like(mean_abs)), weights)
        estimate[ref] = 1.0
        return _folded(state, estimate, self.options.momentum, init_from_first=False)


class ReLoBRaLo(Balancer):
    """Relative Loss Balancing with Random Lookback (Bischof & Kraus, arXiv 2110.09813).

    From the losses alone (no per-term gradients), every step:

        b_i(t, t') = K · softmax_i( L_i(t) / (T · L_i(t')) )          (T = `temperature`)
        λ_i(t) = α [ρ λ_i(t−1) + (1 − ρ) b_i(t, 0)] + (1 − α) b_i(t, t−1)

    so a term whose loss fell least, relative to the start and to the last step, gains weight;
    Σ λ_i = K. The paper draws ρ ∈ {0, 1} at random (expectation `rho`); here ρ is that
    expectation, which keeps a run reproducible and exactly resumable without a random stream.
    At step 0 the weights are 1 and L(0) is stored.
    """

    name = "relobralo"
    label = "ReLoBRaLo"

    @dataclass(frozen=True)
    class Options:
        alpha: float = 0.999
        temperature: float = 0.1
        rho: float = 0.999

        def __post_init__(self) -> None:
            check_fields(self, "balancing.", {
                "alpha": (in_range(0.0, 1.0), "a number in [0, 1]"),
                "temperature": (in_range(0.0, 1e3, open_low=True), "a number in (0, 1000]"),
                "rho": (in_range(0.0, 1.0), "a number in [0, 1]"),
            })

    def init(self, term_names: Sequence[str], device=None, dtype=torch.float32) -> State:
        state = super().init(term_names, device, dtype)
        return {**state, "initial": None, "previous": None}

    def _balance(self, losses: Tensor, reference: Tensor) -> Tensor:
        ratio = losses / (self.options.temperature * reference.clamp_min(torch.finfo(losses.dtype).tiny))
        return losses.numel() * torch.softmax(ratio, dim=0)

    def update(self, state: State, step: int, losses: Tensor, grads: Sequence[Tensor] | None) -> tuple[Tensor, State]:
        losses = losses.detach().to(state["weights"])
        if state["initial"] is None:
            return state["weights"], {**state, "initial": losses, "previous": losses}
        o = self.options
        history = o.rho * state["weights"] + (1.0 - o.rho) * self._balance(losses, state["initial"])
        weights = o.alpha * history + (1.0 - o.alpha) * self._balance(losses, state["previous"])
        return weights, {**state, "weights": weights, "previous": losses, "updates": state["updates"] + 1}


BALANCERS: dict[str, type[Balancer]] = {cls.name: cls for cls in (NoBalancing, GradNorm, LearningRateAnnealing, ReLoBRaLo)}


def balancer_class(name: str) -> type[Balancer]:
    """The registered balancer class of `name`, or a SettingError listing the registry."""
    try:
        return BALANCERS[name]
    except KeyError:
        raise SettingError("balancing.name", f"must be {choices_text(list(BALANCERS))}; got {name!r}") from None


def make_balancer(settings: BalancingSettings) -> Balancer:
    """The balancer a [pinn.balancing] section asks for, its options checked."""
    cls = balancer_class(settings.name)
    return cls(option_values(cls.Options, settings.options, "balancing."))
