"""The one PINN training loop, for any task (the 2D channel of channel.py, a 1D study, ...).

A *task* defines the problem; the trainer owns the state of one run (model, optimiser, loss
weights, points, history) and advances it. A task provides:

    build_model(generator) -> nn.Module       networks (+ formulation), float64, on the CPU
    sample(generator) -> points               collocation points (state_dict / from_state_dict)
    bind(model, points)                       what the model needs to know of the current points
    before_step(model, step)                  what changes with the step (e.g. continuation)
    adapt(model, points, generator, weights)  adaptive resampling (only with [pinn.points] adaptive_*)
    loss_terms(model, points) -> {name: L_i}  every term from one network pass
    own_terms(part, names) -> [name]          the terms a one-part polish minimises (only with
                                              [pinn.polish] blocks = "flow" or "ions")
    evaluator(device, dtype) -> f | None      f(model) -> {field: error, ..., "mean": ...}
    solution(model, device, dtype, info)      the result (a Solution for the channel)

One step k (θ_k → θ_{k+1}): the loss terms at θ_k; the balancer's weights (balancing.py; per-term
gradients only when it asks for them); then either the gradient Σ λ_i ∇L_i — assembled from
the per-term gradients when they exist, else ONE backward pass of the weighted sum — and an
optimiser step, or, for a closure-based optimiser (L-BFGS), `optimizer.step(closure)` with the
weights held fixed through its line search. The first closure call reuses the step's graph.
With routed per-loss adapters ([pinn.network] adapters, adapters.py) the per-term gradients
are formed at every step (one batched backward pass), routed, and give the step's gradient.

Row k of the history holds the losses and errors at θ_k (before update k); with
`conflict_diagnostics` also the gradient alignment score and pairwise cosines of the per-term
gradients at θ_k — those the balancer asked for when step k is an update, otherwise formed for
the row read-only from the same graph, so the trajectory is bit-for-bit the one without them.

The trainer does no file I/O. Observers (checkpoints, history files, snapshots, progress) are
attached by the caller (eofpinn/pinn_runs.py, the CLI, a study) and called:
`started` once; at every step boundary where `due(step)` says so (`at_step`, clock paused);
`logged` after each history row; `finished` at the end; `diverged` when the loss became
non-finite (each may add a sentence to the error); `interrupted` when a stop was requested.

Nothing in the step loop waits for the device except at logging: non-finite losses accumulate
in a device flag read at every log and before observers write anything, so a NaN stops the run
with a SolverError and never reaches a checkpoint or snapshot.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from eofpinn.cases.pinn_settings import PINNSettings, as_table, with_default_keys
from eofpinn.errors import Interrupted, SolverError
from eofpinn.solvers.pinn.adapters import attach_adapters
from eofpinn.solvers.pinn.balancing import make_balancer
from eofpinn.solvers.pinn.conflict import conflict_diagnostics, per_term_gradients
from eofpinn.solvers.pinn.optimizers import learning_rate, make_optimizer, optimizer_entry, set_learning_rate

DTYPES = {"float32": torch.float32, "float64": torch.float64}
MEAN_KEY = "mean"
# Parameters outside the networks that a model may or may not have (an open circuit's trainable
# field, the volume flux of flow "stream", the ion fluxes of ion_flux "stream"; formulation.PINNModel): a warm start carries them over only between runs that have them.
OPTIONAL_PARAMETERS = ("scaled_field", "scaled_flux", "ion_fluxes")
# Settings that change the shape of the state; a resumed run must keep them.
STRUCTURAL_SETTINGS = ("network", "formulation", "dtype", "optimizer.name", "balancing.name",
                       "points.n_interior", "points.n_boundary", "polish.name", "polish.dtype", "polish.blocks")
# Settings that say which run it is: a resume that changed them would go on with the run's own
# random state and record it under another seed (a resume without --seed of a seed-1 run did).
IDENTITY_SETTINGS = ("seed",)


class Observer:
    """Base class of what watches a run; every hook does nothing unless overridden."""

    def started(self, trainer: Trainer) -> None: ...

    def due(self, step: int) -> bool:
        return False

    def at_step(self, trainer: Trainer) -> None: ...

    def logged(self, trainer: Trainer, row: dict) -> None: ...

    def finished(self, trainer: Trainer) -> None: ...

    def diverged(self, trainer: Trainer) -> str | None:
        return None

    def interrupted(self, trainer: Trainer) -> str | None:
        return None


COMPILING = "compiling the loss (torch.compile; under a minute)"


class ProgressBar(Observer):
    """tqdm bar on stderr: steps, ETA, and at each history row the loss and the mean error."""

    def __init__(self, description: str = "pinn"):
        self.description = description
        self.bar = None

    def started(self, trainer: Trainer) -> None:
        self.bar = tqdm(total=trainer.settings.steps, initial=trainer.step, dynamic_ncols=True, desc=self.description)
        self.shown = trainer.step
        if trainer.settings.compile:  # the first step waits for the compiler; say so until the first row
            self.bar.set_postfix_str(COMPILING, refresh=True)

    def logged(self, trainer: Trainer, row: dict) -> None:
        self.bar.update(trainer.step - self.shown)
        self.shown = trainer.step
        postfix = {"loss": f"{row['loss']:.3e}"}
        if f"err_{MEAN_KEY}" in row:
            postfix["err"] = f"{row[f'err_{MEAN_KEY}']:.2e}"
        self.bar.set_postfix(postfix, refresh=True)

    def finished(self, trainer: Trainer) -> None:
        self.bar.update(trainer.step - self.shown)
        self.bar.close()

    def diverged(self, trainer: Trainer) -> None:
        self.bar.close()

    interrupted = diverged


def resolve_device(name: str) -> torch.device:
    """"auto" → cuda when available, else cpu; "cuda" without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SolverError("device 'cuda' requested but torch sees no CUDA device; use --device cpu")
    return torch.device(name)


def _setting(table: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        table = table.get(part) if isinstance(table, dict) else None
    return table


class Trainer:
    """The state of one PINN run and the loop that advances it."""

    def __init__(self, task: Any, settings: PINNSettings, observers: Sequence[Observer] = (),
                 stop: threading.Event | None = None):
        self.task, self.settings = task, settings
        self.observers = list(observers)
        self.stop = stop or threading.Event()
        self.device, self.dtype = resolve_device(settings.device), DTYPES[settings.dtype]
        self.sampler = torch.Generator().manual_seed(settings.seed)
        self.model = task.build_model(self.sampler).to(device=self.device, dtype=self.dtype)
        self._use_points(self._sample())
        self.term_names = tuple(task.loss_terms(self.model, self.points))
        # Per-loss adapters ([pinn.network] adapters, adapters.py) need the K loss terms, known
        # only now: attached before the parameters are collected and the optimiser is built.
        # `routing` (None unless the adapters are routed) forms the per-term gradients.
        self.routing = attach_adapters(self.model, self.term_names, settings.network, settings.seed,
                                       self.device, self.dtype)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.phase = "main"
        self.optimizer = make_optimizer(settings.optimizer, self.params)
        self.closure_based = optimizer_entry(settings.optimizer.name).needs_closure
        self.balancer = make_balancer(settings.balancing)
        self.balance = self.balancer.init(self.term_names, self.device, self.dtype)
        self.evaluate = task.evaluator(self.device, self.dtype)
        self.compile_failure: str | None = None  # why torch.compile was given up, if it was
        self.terms_fn = self._terms
        if settings.compile:
            # Per-term gradients keep the graph (retain_graph=True), which a backward compiled with
            # donated buffers refuses (it did at the first float64 step of a flow polish). The
            # backward is compiled at its first call, outside any call here: set for the process.
            torch._functorch.config.donated_buffer = False
            self._compiled = torch.compile(self._terms)
            self.terms_fn = self._compiled_terms
        self.step, self.history, self.train_seconds = 0, [], 0.0
        self.best = {"loss": math.inf, "loss_step": -1, "loss_errors": {}, "error": math.inf,
                     "error_step": -1, "errors": {}}
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=self.device)
        self.step_gradients: list[Tensor] | None = None
        self.restarts = 0  # closure-optimiser steps undone for a non-finite loss (_undo_closure_step)
        self.before_closure_step: list[Tensor] | None = None
        # Tail averaging ([pinn.optimizer] average_last): the running mean of the iterates over
        # the main phase's last steps, {"start", "params", "count", "applied"} (+ "iterate", the
        # last iterate, once the mean is applied); None until it starts.
        self.average: dict | None = None

    @property
    def weights(self) -> Tensor:
        return self.balance["weights"]

    # ------------------------------------------------------------------ pieces of a step
    def _sample(self):
        points = self.task.sample(self.sampler)
        return type(points).from_state_dict(points.state_dict(), self.device, self.dtype)

    def _use_points(self, points) -> None:
        """Train on `points` from now on (the task binds what depends on them, e.g. the gauges)."""
        self.points = points
        self.task.bind(self.model, points)

    def _terms(self, points) -> Tensor:
        terms = self.task.loss_terms(self.model, points)
        return torch.stack([terms[name] for name in self.term_names])

    def _compiled_terms(self, points) -> Tensor:
        """`_terms` through torch.compile; where compiling fails (no C++ compiler for the CPU
        backend, an operation the compiler does not take), the run goes on with `_terms` itself
        after one warning, recorded in the result's info. An error of the loss itself is raised
        again by `_terms`."""
        try:
            return self._compiled(points)
        except Exception as exc:  # noqa: BLE001 - any failure of the compiler; eager mode decides
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            self.compile_failure = f"[pinn] compile = true failed ({type(exc).__name__}: {reason}); trained without it"
            warnings.warn(self.compile_failure, stacklevel=2)
            self.terms_fn = self._terms
            return self._terms(points)

    @property
    def polishing(self) -> bool:
        return self.phase == "polish"

    def learning_rate(self, step: int) -> float:
        """The main phase's schedule (over its own steps), then the polishing phase's constant rate."""
        s = self.settings
        if step >= s.main_steps:
            return learning_rate(s.polish.optimizer(), 1, 0)
        return learning_rate(s.optimizer, s.main_steps, step)

    def start_polish(self) -> None:
        """Enter the final phase: its optimiser, frozen loss weights, fixed points, and float64
        if asked (model, points, weights and the evaluator are converted)."""
        polish = self.settings.polish
        if polish.dtype == "float64" and self.dtype != torch.float64:
            self.dtype = torch.float64
            self.model.to(dtype=self.dtype)
            self._use_points(type(self.points).from_state_dict(self.points.state_dict(), self.device, self.dtype))
            self.balance = {k: (v.to(self.dtype) if isinstance(v, Tensor) and v.is_floating_point() else v)
                            for k, v in self.balance.items()}
            self.evaluate = self.task.evaluator(self.device, self.dtype)
        self.phase = "polish"
        self.before_closure_step = None  # another parameter list (and dtype) from here on
        # A phase that moves one part minimises that part's own equations (the task's own_terms),
        # weighted as the main phase left them (continuity's times [pinn.polish] continuity_factor).
        own = set(self.term_names if polish.blocks == "all" else self.task.own_terms(polish.blocks, self.term_names))
        self.polish_mask = torch.tensor([float(name in own) * (polish.continuity_factor if name == "continuity" else 1.0)
                                         for name in self.term_names], dtype=self.dtype, device=self.device)
        if polish.blocks != "all":  # one part moves, the rest stays where the main phase left it
            moving = {id(p) for p in self._polished_parameters(polish.blocks)}
            for p in self.params:
                p.requires_grad_(id(p) in moving)
            self.params = [p for p in self.params if id(p) in moving]
            # The points stay fixed from here on, so the frozen blocks' jets are formed once.
            networks = self.model.networks
            networks.hold(name for name, block in networks.blocks.items()
                          if not any(id(p) in moving for p in block.parameters()))
        self.optimizer = make_optimizer(polish.optimizer(), self.params)
        self.closure_based = optimizer_entry(polish.name).needs_closure

    def _polished_parameters(self, blocks: str) -> list[Tensor]:
        """What a [pinn.polish] `blocks` phase moves: "flow" the flow block (u, v, P; with flow
        "stream" not the volume flux Q); "ions" the ψ and c± blocks, an open circuit's field and,
        with ion_flux "stream", the ion fluxes Q±."""
        networks = self.model.networks.blocks
        if blocks == "flow":
            return list(networks["flow"].parameters())
        scalars = [p for p in (getattr(self.model, "scaled_field", None), getattr(self.model, "ion_fluxes", None))
                   if p is not None]
        return [p for name in ("psi", "c_plus", "c_minus") for p in networks[name].parameters()] + scalars

    def train_step(self, diagnose: bool = False) -> Tensor:
        """One optimiser step at self.step; returns the unweighted loss terms at θ_step.

        With `diagnose`, self.step_gradients holds the per-term gradients at θ_step afterwards
        (those of the balancer when it asked for them, else formed without touching p.grad).
        """
        s = self.settings
        if self.step == s.main_steps and s.polish.steps and not self.polishing:
            self.start_polish()
        resample = s.points.resample_every and not self.polishing
        if resample and self.step > 0 and self.step % s.points.resample_every == 0:
            self._use_points(self._sample())
        adapt = s.points.adaptive_every and s.points.adaptive_fraction and not self.polishing
        if adapt and self.step > 0 and self.step % s.points.adaptive_every == 0:
            weights = dict(zip(self.term_names, self.weights.tolist()))
            self._use_points(self.task.adapt(self.model, self.points, self.sampler, weights))
        self.task.before_step(self.model, self.step)
        terms = self._settle_closure_step(self.terms_fn(self.points))
        set_learning_rate(self.optimizer, self.learning_rate(self.step))
        self.optimizer.zero_grad(set_to_none=True)
        wanted = not self.polishing and self.balancer.needs_gradients(self.balance, self.step)
        # Routed adapters need the per-term gradients at every step (not with L-BFGS: its line
        # search needs the gradient of one objective, so it gets Σ λ_i ∇L_i unrouted).
        routed = self.routing is not None and not self.closure_based
        grads = self.term_gradients(terms) if (wanted or diagnose or routed) else None
        if self.polishing:  # the weights stay as the main phase left them (the moving part's terms)
            weights = self.weights * self.polish_mask
        else:
            weights, self.balance = self.balancer.update(self.balance, self.step, terms.detach(),
                                                         grads if wanted else None)
        self.step_gradients = grads if diagnose else None
        if self.closure_based:
            self._closure_step(terms, weights)
        else:
            if wanted or routed:  # the per-term gradients give the step's gradient: no backward
                self.set_weighted_gradient(grads, weights)
            else:
                (weights * terms).sum().backward()
            self.optimizer.step()
        self.nonfinite |= ~torch.isfinite(terms).all()
        self.step += 1
        if not self.polishing:
            self._update_average()
        return terms.detach()

    @property
    def average_start(self) -> int | None:
        """The step after which iterates enter the tail average (None: no averaging)."""
        fraction, main = self.settings.optimizer.average_last, self.settings.main_steps
        return main - max(1, round(fraction * main)) if fraction > 0 else None

    @torch.no_grad()
    def _update_average(self) -> None:
        """Add θ_step to the running mean while step ∈ (start, main_steps]; at the main phase's
        last step the parameters become the mean (before a polishing phase starts from them)."""
        start = self.average_start
        if start is None or not start < self.step <= self.settings.main_steps:
            return
        if self.average is None:
            self.average = {"start": start, "params": [p.detach().clone() for p in self.params], "count": 1,
                            "applied": False}
        else:
            self.average["count"] += 1
            add_to_mean(self.average["params"], self.params, self.average["count"])
        if self.step == self.settings.main_steps:
            self.apply_average()

    @torch.no_grad()
    def apply_average(self) -> None:
        """Set the parameters to the tail average collected so far (once; nothing without one).
        The last iterate is kept, so that a run extended beyond these steps continues from it."""
        if self.average is None or self.average["applied"]:
            return
        self.average["iterate"] = [p.detach().clone() for p in self.params]
        for p, mean in zip(self.params, self.average["params"]):
            p.copy_(mean)
        self.average["applied"] = True

    @torch.no_grad()
    def _restore_average(self, average: dict | None) -> None:
        """The tail average of a loaded state. A run extended past the step where its mean was
        applied goes on from its last iterate (its trajectory exactly) and averages afresh; a
        mean collected over another window (steps changed) is dropped."""
        self.average = None
        if average is None:
            return
        average = {key: ([t.to(device=self.device, dtype=self.dtype) for t in value] if key in ("params", "iterate")
                         else value) for key, value in average.items()}
        if average["applied"] and self.step < self.settings.main_steps:
            for p, last in zip(self.params, average["iterate"]):
                p.copy_(last)
        elif average["start"] == self.average_start:
            self.average = average

    def _warn_short_average(self) -> None:
        """A resume whose step count puts the start of the tail average before the checkpoint
        (the iterates in between were not kept) averages from the checkpoint on: say so."""
        start, main = self.average_start, self.settings.main_steps
        if start is None or self.average is not None or not start < self.step < main:
            return
        warnings.warn(f"the tail average of {main} steps ([pinn.optimizer] average_last) starts after step {start}, "
                      f"before this checkpoint (step {self.step}), whose iterates were not kept: it averages "
                      f"steps {self.step + 1}–{main} only", stacklevel=2)

    def _closure_step(self, terms: Tensor, weights: Tensor) -> None:
        """One step of a closure-based optimiser (L-BFGS); θ_step is kept for `_undo_closure_step`.
        A trial point where the loss is not finite (an exp(·) that overflows) reports +inf: the
        strong-Wolfe search then brackets and bisects back towards finite losses (with NaN it can
        end on the trial point)."""
        first = [terms]
        self.before_closure_step = [p.detach().clone() for p in self.params]

        def closure() -> Tensor:
            self.optimizer.zero_grad(set_to_none=True)
            current = first.pop() if first else self.terms_fn(self.points)
            loss = (weights * current).sum()
            loss.backward()
            loss = loss.detach()
            return loss if bool(torch.isfinite(loss)) else torch.full_like(loss, math.inf)

        self.optimizer.step(closure)

    def _settle_closure_step(self, terms: Tensor | None = None) -> Tensor | None:
        """Undo the last closure step if the loss terms where it ended (`terms`, else evaluated
        here) are not finite; returns the terms at the parameters kept (None: none to check)."""
        if not self.closure_based or self.before_closure_step is None:
            return terms
        terms = self.terms_fn(self.points) if terms is None else terms
        if not bool(torch.isfinite(terms).all()):
            self._undo_closure_step()
            terms = self.terms_fn(self.points)
        return terms

    @torch.no_grad()
    def _undo_closure_step(self) -> None:
        """L-BFGS's line search can end where the loss is not finite (e.g. an exp(·) that
        overflows): the parameters go back to where that step started and the optimiser restarts
        without its curvature history (its first step is a short gradient step), instead of the
        run dying of NaN."""
        for p, saved in zip(self.params, self.before_closure_step):
            p.copy_(saved)
        self.before_closure_step = None
        settings = self.settings.polish.optimizer() if self.polishing else self.settings.optimizer
        self.optimizer = make_optimizer(settings, self.params)
        self.restarts += 1

    def term_gradients(self, terms: Tensor) -> list[Tensor]:
        """The K flattened per-term gradients: ∇_θ L_i, or with routed adapters the routed g_i
        (adapters.Routing: the trunk and adapter i only) in one batched backward pass."""
        if self.routing is not None:
            return self.routing.gradients(terms, self.params)
        return per_term_gradients(list(terms), self.params)

    def set_weighted_gradient(self, grads: list[Tensor], weights: Tensor) -> None:
        """p.grad = Σ λ_i ∇L_i from flattened per-term gradients (conflict.per_term_gradients)."""
        flat = weights @ torch.stack(grads)
        for p, g in zip(self.params, torch.split(flat, [p.numel() for p in self.params])):
            p.grad = g.view_as(p)

    # ------------------------------------------------------------------ records
    def _row(self, step: int, terms: Tensor, errors: dict[str, float], ms_per_step: float,
             gradients: list[Tensor] | None = None) -> dict:
        values = terms.tolist()
        weights = self.weights.tolist()
        row = {"step": step, "lr": self.learning_rate(step),
               "loss": float(sum(w * v for w, v in zip(weights, values)))}
        row.update({f"loss_{n}": v for n, v in zip(self.term_names, values)})
        row.update({f"weight_{n}": w for n, w in zip(self.term_names, weights)})
        row.update({f"err_{k}": v for k, v in errors.items()})
        if gradients is not None:
            row.update(conflict_diagnostics(gradients, self.term_names))
        row.update({"ms_per_step": ms_per_step, "elapsed_s": self.train_seconds})
        return row

    def _record(self, row: dict) -> None:
        """Append a row, update best-loss and best-ever error, tell the observers."""
        self.history.append(row)
        loss = sum(row[f"loss_{n}"] for n in self.term_names)
        errors = {k[4:]: v for k, v in row.items() if k.startswith("err_")}
        if math.isfinite(loss) and loss < self.best["loss"]:
            self.best.update(loss=loss, loss_step=row["step"], loss_errors=errors)
        if errors and errors[MEAN_KEY] < self.best["error"]:
            self.best.update(error=errors[MEAN_KEY], error_step=row["step"], errors=errors)
        for observer in self.observers:
            observer.logged(self, row)

    def check_finite(self) -> None:
        """Raise SolverError if the loss or a parameter became non-finite (observers may add
        where the last good state is kept)."""
        finite = (not bool(self.nonfinite)) and all(bool(torch.isfinite(p).all()) for p in self.params)
        if finite:
            return
        notes = [note for observer in self.observers if (note := observer.diverged(self))]
        good = self.history[-1]["step"] if self.history else 0
        lr = self.learning_rate(self.step)
        raise SolverError(f"PINN training diverged: the loss became NaN or Inf between step {good} and "
                          f"step {self.step} (learning rate {lr:.3g}); " + ("; ".join(notes) or "nothing was kept"))

    # ------------------------------------------------------------------ state
    def state(self) -> dict:
        """Everything needed to continue this run bit for bit."""
        return {
            "step": self.step, "phase": self.phase, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "balance": self.balance, "points": self.points.state_dict(),
            "rng": {"sampler": self.sampler.get_state()}, "history": self.history, "best": self.best,
            "train_seconds": self.train_seconds, "settings": as_table(self.settings), "average": self.average,
        }

    def load_state(self, state: dict) -> None:
        """Continue from `state` (Trainer.state of a run with compatible settings; its
        "source", when present, names the checkpoint in messages)."""
        self.check_compatible(state["settings"], state.get("source", "checkpoint"))
        if state.get("phase", "main") == "polish":
            self.start_polish()
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        # Floating tensors take the weights' dtype and device, others (a mask) keep their dtype, as in start_polish.
        self.balance = {k: (v.to(self.weights) if v.is_floating_point() else v.to(self.device)) if isinstance(v, Tensor)
                        else v for k, v in state["balance"].items()}
        self._use_points(type(self.points).from_state_dict(state["points"], self.device, self.dtype))
        self.sampler.set_state(state["rng"]["sampler"].cpu())
        self.step, self.train_seconds, self.best = state["step"], state["train_seconds"], state["best"]
        self._restore_average(state.get("average"))
        self._warn_short_average()
        # Rows at or after the resumed step are recomputed (e.g. the final row of a finished run).
        self.history = [row for row in state["history"] if row["step"] < self.step]

    def warm_start(self, state: dict) -> None:
        """Start from another run's network parameters (its checkpoint's `model`, with an open
        circuit's Ê when both runs have one), e.g. of an easier case, and, where both runs use the
        same balancer, from its loss weights for the loss terms both have (as its last history row
        holds them; the balancer moves them from there, and a polishing phase that starts at once
        keeps them); optimiser, points and history start afresh."""
        source = state.get("source", "checkpoint")
        settings = with_default_keys(state["settings"]) if "settings" in state else None
        if settings is not None:  # what the blocks' outputs mean: (u, v, P) or (Ψ, ω, P); N± with or without N_χ±
            for key, what in (("flow", "its flow block carries another flow"),
                              ("ion_flux", "its c± blocks carry other outputs")):
                theirs = _setting(settings, f"formulation.{key}")
                mine = getattr(self.settings.formulation, key)
                if theirs != mine:
                    raise SolverError(f"cannot start from {source}: {what} (formulation.{key} {theirs!r}, this run "
                                      f"{mine!r}); use a run with the same {key.replace('_', ' ')} form")
        saved, own = dict(state["model"]), self.model.state_dict()
        for name in OPTIONAL_PARAMETERS:  # taken where both runs have it, else this run's own
            if name not in own:
                saved.pop(name, None)
            elif name not in saved:
                saved[name] = own[name]
        try:
            self.model.load_state_dict(saved)
        except RuntimeError as exc:
            detail = str(exc).splitlines()[-1].strip() if str(exc) else "shapes differ"
            raise SolverError(f"cannot start from {source}: its networks differ from this run's ({detail}); "
                              "use a run with the same [pinn.network] settings") from None
        if settings is not None and _setting(settings, "balancing.name") == self.settings.balancing.name:
            self._take_weights(state.get("history") or [])

    def _take_weights(self, history: list[dict]) -> None:
        """The loss weights of another run's last history row, for the terms both runs have."""
        last = history[-1] if history else {}
        weights = self.balance["weights"].clone()
        for k, name in enumerate(self.term_names):
            if f"weight_{name}" in last:
                weights[k] = float(last[f"weight_{name}"])
        self.balance = {**self.balance, "weights": weights}

    def check_compatible(self, saved: dict, source: str) -> None:
        """Refuse to continue with settings that change the networks, optimiser or points, or
        the run's seed."""
        now = as_table(self.settings)
        saved = with_default_keys(saved)
        changed = [k for k in STRUCTURAL_SETTINGS + IDENTITY_SETTINGS if _setting(saved, k) != _setting(now, k)]
        if changed:
            detail = ", ".join(_difference(k, _setting(saved, k), _setting(now, k)) for k in changed)
            raise SolverError(f"cannot resume from {source}: settings changed ({detail}); "
                              "start a new run or restore these settings")

    # ------------------------------------------------------------------ the loop
    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def train(self) -> None:
        s = self.settings
        for observer in self.observers:
            observer.started(self)
        self._window = [0.0, 0]  # seconds and steps since the last history row
        self._tick = time.perf_counter()
        while self.step < s.steps:
            step = self.step
            if self.stop.is_set():
                self._interrupt()
            due = [o for o in self.observers if o.due(step)]
            if due:
                self._pause()
                self.check_finite()
                for observer in due:
                    observer.at_step(self)
                self._resume_clock()
            log_now = step % s.records.log_every == 0
            if log_now:
                self._pause()
                errors = self.errors()
                self._resume_clock()
            terms = self.train_step(diagnose=log_now and s.records.conflict_diagnostics)
            self._window[1] += 1
            if log_now:
                self._pause()
                self.check_finite()
                self._record(self._row(step, terms, errors, self._ms_per_step(), self.step_gradients))
                self.step_gradients = None
                self._resume_clock()
                if s.time_limit_s and self.train_seconds >= s.time_limit_s:
                    break
        self._pause()
        self.finish()

    def _interrupt(self) -> None:
        self._pause()
        self.check_finite()
        notes = [note for observer in self.observers if (note := observer.interrupted(self))]
        raise Interrupted(f"interrupted at step {self.step}" + ("; " + "; ".join(notes) if notes else ""))

    def _pause(self) -> None:
        """Stop the step clock (waiting for the device first): logging is not step time."""
        self._sync()
        elapsed = time.perf_counter() - self._tick
        self.train_seconds += elapsed
        self._window[0] += elapsed

    def _resume_clock(self) -> None:
        self._tick = time.perf_counter()

    def _ms_per_step(self) -> float:
        seconds, steps = self._window
        self._window = [0.0, 0]
        return 1e3 * seconds / steps if steps else math.nan

    def errors(self) -> dict[str, float]:
        return self.evaluate(self.model) if self.evaluate is not None else {}

    def finish(self) -> None:
        """The final row (losses and errors at the last parameters, or at the tail average of a
        run stopped inside its averaging window), then the observers."""
        self._settle_closure_step()  # the run's last L-BFGS step, had it ended on a NaN
        self.check_finite()
        self.apply_average()
        if not self.history or self.history[-1]["step"] != self.step:
            terms = self.terms_fn(self.points)
            self.step_gradients = (self.term_gradients(terms)
                                   if self.settings.records.conflict_diagnostics else None)
            self._record(self._row(self.step, terms.detach(), self.errors(), self._ms_per_step(), self.step_gradients))
            self.step_gradients = None
        for observer in self.observers:
            observer.finished(self)

    def result(self):
        """The task's result at the current parameters, with the run's record in its info."""
        final = {k[4:]: v for k, v in self.history[-1].items() if k.startswith("err_")}
        info = {
            "device": str(self.device) if self.device.type == "cpu" else torch.cuda.get_device_name(self.device),
            "steps": self.step,
            "ms_per_step": 1e3 * self.train_seconds / max(self.step, 1),
            "train_seconds": self.train_seconds,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "final_loss": self.history[-1]["loss"],
            "final_errors": final,
            "best_loss_step": self.best["loss_step"],
            "best_loss_errors": self.best["loss_errors"],
            "best_error_step": self.best["error_step"],
            "best_errors": self.best["errors"],
            "loss_terms": list(self.term_names),
            "settings": as_table(self.settings),
        }
        if self.compile_failure:
            info["warnings"] = [self.compile_failure]
        return self.fields(info)

    def fields(self, info: dict):
        """The task's result (fields on its evaluation grid) at the current parameters."""
        return self.task.solution(self.model, self.device, self.dtype, info)


@torch.no_grad()
def add_to_mean(means: list[Tensor], params: Sequence[Tensor], count: int) -> None:
    """Running mean in place: `means` (of count − 1 iterates) becomes the mean with `params`."""
    for mean, p in zip(means, params):
        mean.add_(p.detach() - mean, alpha=1.0 / count)


def _difference(key: str, before: Any, after: Any) -> str:
    """'width: 16 → 24' for a changed setting (section tables compared key by key)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return ", ".join(f"{k}: {before.get(k)!r} → {after.get(k)!r}"
                         for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k))
    return f"{key}: {before!r} → {after!r}"


@contextlib.contextmanager
def torch_threads(threads: int):
    """Run the block with `threads` torch CPU threads (0: leave torch's setting alone)."""
    previous = torch.get_num_threads()
    if threads:
        # Small networks on a shared CPU: one thread can be 10× faster than two busy ones.
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
