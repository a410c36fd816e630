"""The 2D channel problem of physics.md as a training task, and `solve_pinn`, the PINN solver.

`ChannelTask` ties the pieces of this package to the trainer (trainer.py): the networks and
formulation (networks.py, formulation.py), the collocation points (collocation.py), the loss
terms (losses.py) and the errors and fields on the evaluation grid (evaluation.py).
`solve_pinn` trains it in memory and returns a `Solution`; files (checkpoints, history,
snapshots, plots) are observers that eofpinn/pinn_runs.py attaches.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import nn

from eofpinn.cases import with_field
from eofpinn.cases.model import Case, PINNSettings
from eofpinn.cases.pinn_settings import BalancingSettings
from eofpinn.solution import Solution
from eofpinn.solvers.pinn.balancing import make_balancer
from eofpinn.solvers.pinn.collocation import Collocation, adapted, interior_split, mirrored, sample_collocation
from eofpinn.solvers.pinn.evaluation import Evaluator, eval_grid, solution_on_grid
from eofpinn.solvers.pinn.formulation import build_model
from eofpinn.solvers.pinn.losses import loss_terms, own_terms, residual_density
from eofpinn.solvers.pinn.trainer import Observer, ProgressBar, Trainer, torch_threads


PSI_BASE_ALONE = ('[pinn.formulation] psi_base = "gouy_chapman" with flow_base = "none" starts ψ and c± at their '
                  'double layers and u at zero, which training was measured not to recover from on a thin layer at '
                  'high ζ (u off by 0.41-0.69 after 1500 steps at ε = 0.02, ζ̂ = 4; docs/method.md, "The recipe '
                  'ablation rerun"); use flow_base = "electroosmotic" (the default) or psi_base = "linear"')


# Steps between checks of the ions' exponents (PINNModel.recentre_ions) when the loss balancer has
# no update period of its own (`recentre_period`).
RECENTRE_EVERY = 100


def recentre_period(balancing: BalancingSettings) -> int:
    """Steps between checks of the ions' exponents, made one step after each of the loss
    balancer's updates: its own period where it has one (gn, lra: `every`), else RECENTRE_EVERY.
    A move changes the float32 rounding of terms at their floor, and a balancer that measured a
    term just after a move gave it a weight 10⁴ times too large (docs/method.md "A 2:1 salt")."""
    return int(getattr(make_balancer(balancing).options, "every", RECENTRE_EVERY))


class ChannelTask:
    """The steady PNP–Stokes channel of a case, for the trainer."""

    def __init__(self, case: Case, settings: PINNSettings, reference: Solution | None = None):
        self.case, self.problem, self.settings, self.reference = case, case.problem, settings, reference
        self.recentre_every = recentre_period(settings.balancing)
        form = settings.formulation
        if form.hard_walls and form.psi_base == "gouy_chapman" and form.flow_base == "none":
            warnings.warn(PSI_BASE_ALONE, stacklevel=2)

    def build_model(self, generator: torch.Generator) -> nn.Module:
        return build_model(self.problem, self.settings, generator)

    @property
    def mirror(self) -> bool:
        """Whether the fields are built mirror-symmetric (formulation symmetry "mirror"): the
        interior points then lie in the lower half (collocation.mirrored)."""
        return self.settings.formulation.symmetry == "mirror"

    def sample(self, generator: torch.Generator) -> Collocation:
        points = sample_collocation(self.problem, self.settings.points, generator)
        return mirrored(points) if self.mirror else points

    def bind(self, model: nn.Module, points: Collocation) -> None:
        """Tell the model the points its exact gauges are taken over (this collocation's
        uniform interior points and outlet points; physics.md §3)."""
        model.gauge_points = {
            "content": None if self.problem.fixes_ion_content else points.interior[:points.n_uniform],
            "outlet": points.outlet if self.problem.ends == "periodic" else None,
        }

    def before_step(self, model: nn.Module, step: int) -> None:
        """Continuation: the wall potentials of this step (physics unchanged when it is off); every
        `recentre_period` steps, one step after each balancer update (steps 1, 101, 201, … by
        default), the ions' exponents recentred where they drifted (PINNModel.recentre_ions)."""
        scale = self.settings.continuation.zeta_scale(step)
        if scale != model.formulation.zeta_scale:
            model.formulation = dataclasses.replace(model.formulation, zeta_scale=scale)
        if (step - 1) % self.recentre_every == 0:
            model.recentre_ions()

    def loss_terms(self, model: nn.Module, points: Collocation) -> dict[str, torch.Tensor]:
        return loss_terms(self.problem, model, points)

    def own_terms(self, part: str, names: list[str]) -> list[str]:
        """The loss terms that are `part`'s own equations ("flow" or "ions"; losses.own_terms): what
        a polishing phase that moves that part alone minimises."""
        return own_terms(part, names)

    def adapt(self, model: nn.Module, points: Collocation, generator: torch.Generator,
              weights: dict[str, float]) -> Collocation:
        """The points with their adaptive share redrawn where the weighted PDE residual is large."""
        settings = self.settings.points
        points = adapted(points, interior_split(settings)["adaptive"],
                         lambda pool: residual_density(self.problem, model, pool, weights), settings, self.problem,
                         generator)
        return mirrored(points) if self.mirror else points

    def evaluator(self, device: torch.device, dtype: torch.dtype) -> Callable | None:
        """Errors against the reference, or the exact solution of a straight channel; None when
        neither exists."""
        evaluator = Evaluator(self.problem, self.reference, self.settings.records, device, dtype, self.case.fd)
        return evaluator.errors if evaluator.available else None

    def solution(self, model: nn.Module, device: torch.device, dtype: torch.dtype, info: dict) -> Solution:
        """The fields on the evaluation grid; an open circuit's case carries the solved Ê (as FD's
        does: `with_field`, and info["open_circuit_field_hat"]), so observables read it."""
        x, y = eval_grid(self.problem, self.settings.records, self.case.fd)
        fields = solution_on_grid(model, self.problem, x, y, device, dtype)
        case = self.case
        if self.problem.open_circuit:
            field = float(model.field.detach())
            case, info = with_field(case, field), {**info, "open_circuit_field_hat": field}
        return Solution(case=case, x=x, y=y, fields=fields, solver="pinn", info=info)


def solve_pinn(case: Case, settings: PINNSettings | None = None, reference: Solution | None = None,
               observers: Sequence[Observer] = (), resume: dict | None = None, progress: bool = False,
               stop: threading.Event | None = None, init: dict | None = None) -> Solution:
    """Train the PINN of `case` (settings: the case's [pinn] section unless given) in memory.

    Args:
        reference: errors are measured against it (e.g. an FD solution), else against the
            exact solution of a straight channel, else not at all.
        observers: watch the run (eofpinn.pinn_runs.file_observers writes a run directory).
        resume: a state saved by Trainer.state() (a checkpoint) to continue exactly.
        init: a state (a checkpoint of another run) whose network parameters start this run;
            everything else starts afresh (a warm start, e.g. from an easier case).
        progress: show a progress bar (steps, loss, error, ETA) on stderr.
        stop: an event that, once set, stops the run at the next step boundary
            (TrainingInterrupted, after the observers' `interrupted`).

    Returns:
        The fields on the settings' evaluation grid; `info` holds the run's record (steps,
        timings, final/best errors, loss terms, settings).

    Raises:
        SolverError: the loss became NaN/Inf, an unusable device, or a state from other settings.
    """
    settings = settings or case.pinn
    with torch_threads(settings.threads):
        watchers = list(observers) + ([ProgressBar()] if progress else [])
        trainer = Trainer(ChannelTask(case, settings, reference), settings, watchers, stop)
        if init is not None and resume is None:
            trainer.warm_start(init)
        if resume is not None:
            trainer.load_state(resume)
        trainer.train()
        return trainer.result()
