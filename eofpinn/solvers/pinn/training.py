"""The training loop and `solve_pinn`, the PINN solver's entry point.

One step: loss terms from one network pass over all collocation points (losses.py), the
weighted sum Σ λ_i L_i, ONE backward pass, an optimiser step. Only on a weighting update step
(every `gn_frequency` steps, from step 0) are the per-term gradients formed — and then the
step's gradient is assembled from them, Σ λ_i ∇L_i, with no further backward pass.

Row k of the history holds the losses and errors at the parameters θ_k *before* update k,
and (`conflict_diagnostics`) the gradient alignment score and pairwise cosines of the per-term
gradients at θ_k: those of the weighting update when step k is one, otherwise formed for the
row from the same graph before the step's backward pass — read-only, so the trajectory is
bit-for-bit the one without diagnostics. Snapshots (`snapshot_every`, snapshots.py) are also
taken at θ_k; neither they nor logging count as step time.

Nothing in the step loop waits for the device except at logging (every `log_every` steps):
non-finite losses are accumulated into a device flag that is read there and before every
checkpoint and snapshot, so a NaN stops the run with a `SolverError` and never reaches
`checkpoint.pt` or a snapshot.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor
from tqdm.auto import tqdm

from eofpinn.cases.model import Case, PINNSettings
from eofpinn.errors import Interrupted, SolverError
from eofpinn.solution import Solution
from eofpinn.solvers.pinn import checkpoint, records
from eofpinn.solvers.pinn.collocation import Collocation, sample_collocation
from eofpinn.solvers.pinn.evaluation import MEAN_KEY, Evaluator, eval_grid, solution_on_grid
from eofpinn.solvers.pinn.formulation import CONCENTRATION_FORMS, PRESSURE_FORMS, PSI_BASES, build_model
from eofpinn.solvers.pinn.losses import loss_terms
from eofpinn.solvers.pinn.optimization import OPTIMIZERS, learning_rate, make_optimizer, set_learning_rate
from eofpinn.solvers.pinn.snapshots import SnapshotSeries
from eofpinn.solvers.pinn.weighting import conflict_diagnostics, make_weighting, per_term_gradients

DTYPES = {"float32": torch.float32, "float64": torch.float64}
CHOICES = {
    "optimizer": OPTIMIZERS,
    "weighting": ("gn", "none", "lra"),
    "concentrations": CONCENTRATION_FORMS,
    "pressure": PRESSURE_FORMS,
    "psi_base": PSI_BASES,
    "derivatives": ("taylor", "autograd"),
    "dtype": tuple(DTYPES),
    "device": ("auto", "cpu", "cuda"),
}


def check_settings(settings: PINNSettings) -> None:
    """Reject a [pinn] choice outside its allowed values, naming the key and the choices."""
    for key, allowed in CHOICES.items():
        value = getattr(settings, key)
        if value not in allowed:
            raise SolverError(f"[pinn] {key} = {value!r} is not allowed; choose one of {', '.join(allowed)}")
    for key in ("steps", "width", "depth", "n_interior", "n_boundary", "log_every", "checkpoint_every",
                "gn_frequency", "precondition_frequency", "eval_nx", "eval_ny"):
        if getattr(settings, key) < 1:
            raise SolverError(f"[pinn] {key} must be at least 1; got {getattr(settings, key)}")
    if settings.snapshot_every < 0:
        raise SolverError(f"[pinn] snapshot_every must be 0 (no snapshots) or more; got {settings.snapshot_every}")
    if not isinstance(settings.conflict_diagnostics, bool):
        raise SolverError(f"[pinn] conflict_diagnostics must be true or false; got {settings.conflict_diagnostics!r}")


def resolve_device(name: str) -> torch.device:
    """"auto" → cuda when available, else cpu; "cuda" without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SolverError("device 'cuda' requested but torch sees no CUDA device; use --device cpu")
    return torch.device(name)


class Trainer:
    """The state of one PINN run and the loop that advances it."""

    def __init__(self, case: Case, settings: PINNSettings, out_dir: Path, reference: Solution | None = None):
        check_settings(settings)
        self.case, self.problem, self.settings, self.out_dir = case, case.problem, settings, Path(out_dir)
        self.device, self.dtype = resolve_device(settings.device), DTYPES[settings.dtype]
        self.sampler = torch.Generator().manual_seed(settings.seed)
        self.model = build_model(self.problem, settings, self.sampler).to(device=self.device, dtype=self.dtype)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(settings, self.params)
        self.points = self._sample()
        self.term_names = tuple(loss_terms(self.problem, self.model, self.points))
        self.weighting = make_weighting(settings.weighting, len(self.term_names), update_every=settings.gn_frequency,
                                        momentum=settings.gn_momentum, init_from_first=settings.gn_init_from_first,
                                        device=self.device, dtype=self.dtype)
        self.evaluator = Evaluator(self.problem, reference, settings, self.device, self.dtype)
        self.terms_fn = self._terms
        if settings.compile:
            self.terms_fn = torch.compile(self._terms)
        self.step, self.history, self.train_seconds = 0, [], 0.0
        self.best = {"loss": math.inf, "loss_step": -1, "loss_errors": {}, "error": math.inf,
                     "error_step": -1, "errors": {}}
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=self.device)
        self.last_checkpoint_step = -1
        self.snapshots = SnapshotSeries(self.out_dir)
        self.step_gradients: list[Tensor] | None = None
        self.bar = None  # the progress bar of train(); solve_pinn closes it however training ends

    # ------------------------------------------------------------------ pieces of a step
    def _sample(self) -> Collocation:
        points = sample_collocation(self.problem, self.settings, self.sampler)
        return Collocation.from_state_dict(points.state_dict(), self.device, self.dtype)

    def _terms(self, points: Collocation) -> Tensor:
        terms = loss_terms(self.problem, self.model, points)
        return torch.stack([terms[name] for name in self.term_names])

    def train_step(self, diagnose: bool = False) -> Tensor:
        """One optimiser step at self.step; returns the unweighted loss terms at θ_step.

        With `diagnose`, self.step_gradients holds the per-term gradients at θ_step afterwards
        (reused from a weighting update, else formed without touching p.grad); otherwise None.
        """
        s = self.settings
        if s.resample_every and self.step > 0 and self.step % s.resample_every == 0:
            self.points = self._sample()
        set_learning_rate(self.optimizer, learning_rate(s, self.step))
        terms = self.terms_fn(self.points)
        self.optimizer.zero_grad(set_to_none=True)
        self.step_gradients = None
        if self.weighting.needs_update(self.step + 1):  # weighting counts steps from 1
            grads = per_term_gradients(list(terms), self.params)
            self._assemble_gradient(grads)
            self.step_gradients = grads if diagnose else None
        else:
            if diagnose:  # autograd.grad only reads the graph: the backward below is unchanged
                self.step_gradients = per_term_gradients(list(terms), self.params)
            (self.weighting.weights * terms).sum().backward()
        self.optimizer.step()
        self.nonfinite |= ~torch.isfinite(terms).all()
        self.step += 1
        return terms.detach()

    def _assemble_gradient(self, grads: list[Tensor]) -> None:
        """Update the weights from the per-term gradients, then form the step's gradient from
        the same gradients: an update step needs no extra backward pass."""
        self.weighting.update(grads)
        self.set_weighted_gradient(grads)

    def set_weighted_gradient(self, grads: list[Tensor]) -> None:
        """p.grad = Σ λ_i ∇L_i from flattened per-term gradients (weighting.per_term_gradients)."""
        flat = self.weighting.weights @ torch.stack(grads)
        for p, g in zip(self.params, torch.split(flat, [p.numel() for p in self.params])):
            p.grad = g.view_as(p)

    # ------------------------------------------------------------------ records
    def _row(self, step: int, terms: Tensor, errors: dict[str, float], ms_per_step: float,
             gradients: list[Tensor] | None = None) -> dict:
        values = terms.tolist()
        weights = self.weighting.weights.tolist()
        row = {"step": step, "lr": learning_rate(self.settings, step),
               "loss": float(sum(w * v for w, v in zip(weights, values)))}
        row.update({f"loss_{n}": v for n, v in zip(self.term_names, values)})
        row.update({f"weight_{n}": w for n, w in zip(self.term_names, weights)})
        row.update({f"err_{k}": v for k, v in errors.items()})
        if gradients is not None:
            row.update(conflict_diagnostics(gradients, self.term_names))
        row.update({"ms_per_step": ms_per_step, "elapsed_s": self.train_seconds})
        return row

    def _record(self, row: dict) -> None:
        """Append a row, update best-loss (with its checkpoint) and best-ever error."""
        self.history.append(row)
        loss = sum(row[f"loss_{n}"] for n in self.term_names)
        errors = {k[4:]: v for k, v in row.items() if k.startswith("err_")}
        if math.isfinite(loss) and loss < self.best["loss"]:
            self.best.update(loss=loss, loss_step=row["step"], loss_errors=errors)
            checkpoint.save({"step": row["step"], "model": self.model.state_dict(), "errors": errors,
                             "loss": loss}, self.out_dir / checkpoint.BEST_LOSS)
        if errors and errors[MEAN_KEY] < self.best["error"]:
            self.best.update(error=errors[MEAN_KEY], error_step=row["step"], errors=errors)

    def _check_finite(self) -> None:
        finite = (not bool(self.nonfinite)) and all(bool(torch.isfinite(p).all()) for p in self.params)
        if finite:
            return
        records.write_history(self.history, self.out_dir)
        last = (f"the last good checkpoint ({self.out_dir / checkpoint.LATEST}, step {self.last_checkpoint_step}) "
                "is kept; resume from it with a lower learning_rate or a smaller gn_frequency"
                if self.last_checkpoint_step >= 0 else "no checkpoint had been written yet")
        good = self.history[-1]["step"] if self.history else 0
        raise SolverError(f"PINN training diverged: the loss became NaN or Inf between step {good} and "
                          f"step {self.step} (learning rate {learning_rate(self.settings, self.step):.3g}); {last}")

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        return {
            "step": self.step, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "weighting": self.weighting.state_dict(), "points": self.points.state_dict(),
            "rng": checkpoint.rng_state(self.sampler), "history": self.history, "best": self.best,
            "train_seconds": self.train_seconds, "settings": dataclasses.asdict(self.settings),
        }

    def save_checkpoint(self) -> None:
        self._check_finite()
        checkpoint.save(self.state(), self.out_dir / checkpoint.LATEST)
        self.last_checkpoint_step = self.step

    def load(self, path: Path) -> None:
        state = checkpoint.load(Path(path), self.device)
        checkpoint.check_compatible(state["settings"], dataclasses.asdict(self.settings), Path(path))
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.weighting.load_state_dict(state["weighting"])
        self.points = Collocation.from_state_dict(state["points"], self.device, self.dtype)
        checkpoint.restore_rng(state["rng"], self.sampler)
        self.step, self.train_seconds, self.best = state["step"], state["train_seconds"], state["best"]
        # Rows at or after the resumed step are recomputed (e.g. the final row of a finished run).
        self.history = [row for row in state["history"] if row["step"] < self.step]
        self.last_checkpoint_step = self.step

    # ------------------------------------------------------------------ the loop
    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def train(self, progress: bool = True, should_stop: Callable[[], bool] | None = None) -> None:
        """Train up to `settings.steps`. `should_stop` is asked before every step: when it says
        yes, the run checkpoints at that step boundary and raises Interrupted."""
        s = self.settings
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # Snapshots of steps ≥ self.step are an earlier or killed run's: this run rewrites them.
        self.snapshots.truncate(self.step)
        bar = self.bar = tqdm(total=s.steps, initial=self.step, disable=not progress, dynamic_ncols=True, desc="pinn")
        self._window = [0.0, 0]  # seconds and steps since the last history row
        self._tick = time.perf_counter()
        while self.step < s.steps:
            if should_stop is not None and should_stop():
                self._stop()
            step = self.step
            if step % s.checkpoint_every == 0 and step != self.last_checkpoint_step:
                self._pause()
                self.save_checkpoint()
                self._resume_clock()
            if s.snapshot_every and step % s.snapshot_every == 0:
                self._pause()
                self.snapshot()
                self._resume_clock()
            log_now = step % s.log_every == 0
            if log_now:
                self._pause()
                errors = self._errors()
                self._resume_clock()
            terms = self.train_step(diagnose=log_now and s.conflict_diagnostics)
            self._window[1] += 1
            bar.update(1)
            if log_now:
                self._pause()
                self._log(step, terms, errors, bar, self.step_gradients)
                self.step_gradients = None
                self._resume_clock()
                if s.time_limit_s and self.train_seconds >= s.time_limit_s:
                    break
        self._pause()
        bar.close()
        self.finish()

    def _stop(self) -> None:
        """Checkpoint at this step boundary (exactly resumable) and raise Interrupted."""
        self._pause()
        self.save_checkpoint()
        raise Interrupted(f"interrupted at step {self.step}; checkpoint written")

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

    def _errors(self) -> dict[str, float]:
        return self.evaluator.errors(self.model) if self.evaluator.available else {}

    def _log(self, step: int, terms: Tensor, errors: dict, bar, gradients: list[Tensor] | None) -> None:
        self._check_finite()
        row = self._row(step, terms, errors, self._ms_per_step(), gradients)
        self._record(row)
        records.write_history(self.history, self.out_dir)
        postfix = {"loss": f"{row['loss']:.3e}"}
        if errors:
            postfix["err"] = f"{errors[MEAN_KEY]:.2e}"
        bar.set_postfix(postfix, refresh=False)

    def finish(self) -> None:
        """Final row (losses and errors at the last parameters), checkpoint and plots."""
        self._check_finite()
        if not self.history or self.history[-1]["step"] != self.step:
            terms = self.terms_fn(self.points)
            gradients = per_term_gradients(list(terms), self.params) if self.settings.conflict_diagnostics else None
            self._record(self._row(self.step, terms.detach(), self._errors(), self._ms_per_step(), gradients))
        if self.settings.snapshot_every and self.step not in self.snapshots.steps:
            self.snapshot()
        self.save_checkpoint()
        records.write_history(self.history, self.out_dir)
        records.write_plots(self.history, self.out_dir, self.case.name)

    def snapshot(self) -> None:
        """Fields at θ_step into the snapshot series (never a NaN one: the guard runs first)."""
        self._check_finite()
        x, y = eval_grid(self.problem, self.settings)
        with torch.no_grad():
            fields = solution_on_grid(self.model, self.problem, x, y, self.device, self.dtype)
        self.snapshots.add(Solution(case=self.case, x=x, y=y, fields=fields, solver="pinn",
                                   info={"step": self.step}), self.step)

    def solution(self) -> Solution:
        x, y = eval_grid(self.problem, self.settings)
        fields = solution_on_grid(self.model, self.problem, x, y, self.device, self.dtype)
        final = {k[4:]: v for k, v in self.history[-1].items() if k.startswith("err_")}
        info = {
            "device": str(self.device) if self.device.type == "cpu" else torch.cuda.get_device_name(self.device),
            "steps": self.step,
            "ms_per_step": 1e3 * self.train_seconds / max(self.step, 1),
            "train_seconds": self.train_seconds,
            "parameters": self.model.networks.parameter_count,
            "final_loss": self.history[-1]["loss"],
            "final_errors": final,
            "best_loss_step": self.best["loss_step"],
            "best_loss_errors": self.best["loss_errors"],
            "best_error_step": self.best["error_step"],
            "best_errors": self.best["errors"],
            "loss_terms": list(self.term_names),
            "settings": dataclasses.asdict(self.settings),
        }
        return Solution(case=self.case, x=x, y=y, fields=fields, solver="pinn", info=info)


def solve_pinn(case: Case, settings: PINNSettings, out_dir: Path, reference: Solution | None = None,
               resume: Path | None = None, progress: bool = True,
               should_stop: Callable[[], bool] | None = None) -> Solution:
    """Train the PINN of `case` with `settings`; returns the solution on the eval grid.

    Writes history.csv, checkpoint.pt, best_loss.pt, loss_history.png, error_history.png and
    gradient_conflict.png into `out_dir`, and with `snapshot_every` snapshots/*.vts and
    snapshots.pvd. With `resume` (a run directory or checkpoint file) the run continues
    exactly where that checkpoint stopped, up to `settings.steps`. Errors are measured against
    `reference`, or the exact solution (physics.md §4) for a straight channel. `should_stop`
    (e.g. set by SIGINT) is polled between steps: yes → checkpoint there, raise Interrupted.

    Raises:
        SolverError: the loss became NaN/Inf (the last good checkpoint is kept), an unusable
            device, or a checkpoint that cannot be resumed with these settings.
        Interrupted: `should_stop` said yes; the checkpoint of the step reached is written.
    """
    previous_threads = torch.get_num_threads()
    if settings.threads:
        # Small networks on a shared CPU: one thread can be 10× faster than two busy ones.
        torch.set_num_threads(settings.threads)
    trainer = None
    try:
        trainer = Trainer(case, settings, Path(out_dir), reference)
        if resume is not None:
            trainer.load(Path(resume))
        trainer.train(progress, should_stop)
        return trainer.solution()
    finally:
        if trainer is not None and trainer.bar is not None:
            trainer.bar.close()  # an error message then starts on its own line, not after the bar
        torch.set_num_threads(previous_threads)
