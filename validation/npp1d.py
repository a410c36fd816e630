r"""The 1D Nernst–Planck–Poisson double layer as a PINN task (validation study "coupling_1d").

The claim under test (arXiv 2605.23391): with SOAP + inverse-gradient-norm balancing ("SOAP+GN")
the final-epoch error of a coupled PINN degrades by ≤ 1.1× over a 5–50× change of the coupling,
with Adam+GN by > 100×. Here the coupling is the Debye ratio ε (strength ∝ 1/ε²).

System on y ∈ [0, 1] (physics.md §2, no flow, no applied field), ζ̂ = ``zeta``:

    Poisson   ε² ψ'' + (c₊ − c₋)/2 = 0
    NP₊       (c₊' + c₊ ψ')' = c₊'' + c₊' ψ' + c₊ ψ'' = 0
    NP₋       (c₋' − c₋ ψ')' = c₋'' − c₋' ψ' − c₋ ψ'' = 0
    walls     ψ(0) = ψ(1) = ζ̂,   c±(0) = c±(1) = exp(∓ζ̂)      (Boltzmann wall ions)

Exact solution: ψ = Poisson–Boltzmann profile (ε² ψ'' = sinh ψ), c± = exp(∓ψ).

It is a task of eofpinn's one trainer (eofpinn/solvers/pinn/trainer.py): the same optimisers,
balancers, history rows and gradient diagnostics as the 2D channel. Networks: S = 3 tanh MLPs
(ψ, c₊, c₋) — the MLP of eofpinn/solvers/pinn/networks.py with its Taylor-mode jets on a line
(rows f, f', f''), plain Xavier-uniform weights (output gain 1), zero biases, input z = 2y − 1.
Two formulations:

* ``paper`` (the layout the paper's claim is about): the networks output ψ, c₊, c₋ directly,
  walls are soft penalties; 6 loss terms = 3 PDE residuals + 3 wall groups (one per field).
* ``recipe`` (method.md "Formulation matters more than the optimiser"): hard walls through the
  distance d = y(1 − y) and log-concentrations, ψ = ζ̂ + d N_ψ, c± = exp(∓ζ̂ + d N_±);
  3 loss terms (the PDE residuals only).

Collocation: fixed points, half uniform on [0, 1], half in two wall bands of height
min(5√2 ε, 0.3) (the paper's 5 ε_p with ε_p = √2 ε). Error: mean over (ψ, c₊, c₋) of the
relative L2 error ‖f − f*‖₂/‖f*‖₂ on a uniform dense grid, at every history row. Degradation
ratio of a method: error at the strongest coupling (smallest ε) ÷ error at the weakest.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from eofpinn.cases.pinn_settings import PINNSettings, replace
from eofpinn.physics.exact import poisson_boltzmann
from eofpinn.solvers.pinn.balancing import BALANCERS
from eofpinn.solvers.pinn.networks import MLP
from eofpinn.solvers.pinn.optimizers import OPTIMIZERS
from eofpinn.solvers.pinn.trainer import Observer, Trainer

FIELDS = ("psi", "c_plus", "c_minus")
PDE_TERMS = ("poisson", "np_plus", "np_minus")
WALL_TERMS = ("wall_psi", "wall_c_plus", "wall_c_minus")
FORMULATIONS = ("paper", "recipe")
# The paper's final-epoch degradation ratios (arXiv 2605.23391; method.md "Reference run").
PAPER_CLAIM = {"SOAP+GN": "≤ 1.1×", "Adam+GN": "> 100×"}


@dataclass(frozen=True)
class CouplingConfig:
    """One training run of the study.

    Args:
        debye_ratio: ε (coupling strength ∝ 1/ε²).
        optimizer: a registered optimiser name (eofpinn/solvers/pinn/optimizers.py).
        weighting: a registered balancer name (eofpinn/solvers/pinn/balancing.py).
        formulation: ``"paper"`` (direct outputs, soft walls) or ``"recipe"`` (hard walls, log c).
        seed: seeds the network initialisation and the collocation points.
        steps: optimisation steps (full batch).
        zeta: wall potential ζ̂.
        width, depth: hidden layers of each of the three MLPs.
        n_interior: collocation points (half uniform, half in the wall bands).
        lr: learning rate (constant; the paper's SOAP uses 3e-4 over 30k–50k steps).
        update_every: steps between loss-weight updates of GN/LRA (first at step 0).
        momentum: GN/LRA moving-average momentum.
        log_every: steps between history rows (error, loss terms, gradient diagnostics).
        n_eval: points of the uniform evaluation grid.
        dtype: training precision.
        record_gradients: keep the per-term gradient vectors of every row (tests only).
        adapters, adapter_rank, adapter_routing: per-loss adapters ([pinn.network] keys of the
            same names; eofpinn/solvers/pinn/adapters.py).
        time_limit_s: stop at this training wall time (0: run all `steps`).
    """

    debye_ratio: float
    optimizer: str = "soap"
    weighting: str = "gn"
    formulation: str = "paper"
    seed: int = 0
    steps: int = 2000
    zeta: float = 1.0
    width: int = 32
    depth: int = 3
    n_interior: int = 512
    lr: float = 1e-3
    update_every: int = 100
    momentum: float = 0.9
    log_every: int = 50
    n_eval: int = 2001
    dtype: str = "float32"
    record_gradients: bool = False
    adapters: str = "none"
    adapter_rank: int = 4
    adapter_routing: str = "routed"
    time_limit_s: float = 0.0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.weighting not in BALANCERS:
            raise ValueError(f"weighting must be one of {', '.join(BALANCERS)}, got {self.weighting!r}")
        if self.formulation not in FORMULATIONS:
            raise ValueError(f"formulation must be one of {FORMULATIONS}, got {self.formulation!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not 0.0 < self.debye_ratio < 1.0:
            raise ValueError(f"debye_ratio must lie in (0, 1), got {self.debye_ratio}")

    def settings(self) -> PINNSettings:
        """The trainer settings of this run (SOAP with the paper's workshop settings for the
        electrokinetic problems: betas (0.95, 0.95), preconditioner every 2 steps; the last
        iterate, no tail averaging, as the paper reports its final epoch)."""
        changes: dict[str, Any] = {
            "steps": self.steps, "seed": self.seed, "device": "cpu", "dtype": self.dtype,
            "network.width": self.width, "network.depth": self.depth, "network.output_gain": 1.0,
            "points.n_interior": self.n_interior, "optimizer.name": self.optimizer,
            "optimizer.learning_rate": self.lr, "optimizer.average_last": 0.0, "balancing.name": self.weighting,
            "records.log_every": self.log_every, "records.checkpoint_every": self.steps + 1,
            "records.conflict_diagnostics": True, "time_limit_s": float(self.time_limit_s),
            "network.adapters": self.adapters, "network.adapter_rank": self.adapter_rank,
            "network.adapter_routing": self.adapter_routing,
        }
        if self.optimizer == "soap":
            changes.update({"optimizer.betas": (0.95, 0.95), "optimizer.precondition_frequency": 2})
        if self.weighting in ("gn", "lra"):
            changes.update({"balancing.every": self.update_every, "balancing.momentum": self.momentum})
        return replace(PINNSettings(), changes)


def method_name(optimizer: str, weighting: str, adapters: str = "none") -> str:
    """Display name of an (optimiser, balancer) pair, e.g. ``"SOAP+GN"``; ``"+adapters"`` when
    the run has per-loss adapters."""
    return f"{OPTIMIZERS[optimizer].label}+{BALANCERS[weighting].label}" + ("" if adapters == "none" else "+adapters")


def parse_method(name: str) -> tuple[str, str]:
    """Inverse of :func:`method_name`: ``"SOAP+GN"`` → ``("soap", "gn")`` (case-insensitive)."""
    optimizer, _, weighting = name.strip().lower().partition("+")
    optimizers = {entry.label.lower(): key for key, entry in OPTIMIZERS.items()}
    balancers = {entry.label.lower(): key for key, entry in BALANCERS.items()}
    if optimizer not in optimizers or weighting not in balancers:
        raise ValueError(f"method {name!r}: expected OPTIMISER+WEIGHTING, e.g. SOAP+GN, Adam+none, Adam+LRA "
                         f"(optimisers {', '.join(e.label for e in OPTIMIZERS.values())}; "
                         f"balancers {', '.join(e.label for e in BALANCERS.values())})")
    return optimizers[optimizer], balancers[weighting]


# --------------------------------------------------------------------------- problem


def wall_band_height(debye_ratio: float) -> float:
    """Height of each wall band of collocation points, min(5√2 ε, 0.3)."""
    return min(5.0 * math.sqrt(2.0) * debye_ratio, 0.3)


def collocation_points(debye_ratio: float, n_points: int, generator: torch.Generator,
                       dtype: torch.dtype = torch.float32) -> Tensor:
    """Fixed interior points: half uniform on [0, 1], a quarter in each wall band (sorted)."""
    band = wall_band_height(debye_ratio)
    n_uniform = n_points // 2
    n_bottom = (n_points - n_uniform) // 2
    u = torch.rand(n_points, generator=generator, dtype=torch.float64)
    y = torch.cat((u[:n_uniform], band * u[n_uniform:n_uniform + n_bottom],
                   1.0 - band * u[n_uniform + n_bottom:]))
    return torch.sort(y).values.to(dtype)


def exact_solution(y: np.ndarray, debye_ratio: float, zeta: float = 1.0) -> dict[str, np.ndarray]:
    """Exact ψ, c₊ = e^{−ψ}, c₋ = e^{ψ} at points y."""
    psi, _ = poisson_boltzmann(np.asarray(y, dtype=float), debye_ratio, zeta)
    return {"psi": psi, "c_plus": np.exp(-psi), "c_minus": np.exp(psi)}


def pnp_residuals(psi: Sequence, c_plus: Sequence, c_minus: Sequence, debye_ratio: float) -> tuple:
    """Poisson, NP₊ and NP₋ residuals from jets (f, f', f'') of each field (numpy or torch)."""
    poisson = debye_ratio**2 * psi[2] + 0.5 * (c_plus[0] - c_minus[0])
    np_plus = c_plus[2] + c_plus[1] * psi[1] + c_plus[0] * psi[2]
    np_minus = c_minus[2] - c_minus[1] * psi[1] - c_minus[0] * psi[2]
    return poisson, np_plus, np_minus


@dataclass
class LinePoints:
    """Collocation points of the 1D task: interior y (N,)."""

    y: Tensor

    def state_dict(self) -> dict:
        return {"y": self.y}

    @classmethod
    def from_state_dict(cls, state: dict, device: torch.device, dtype: torch.dtype) -> LinePoints:
        return cls(state["y"].to(device=device, dtype=dtype))


def build_networks(width: int, depth: int, generator: torch.Generator) -> nn.ModuleDict:
    """Three tanh MLPs (one per field), Xavier-uniform weights, zero biases, drawn from `generator`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (), generator=generator)))
        return nn.ModuleDict({name: MLP(1, width, depth, 1) for name in FIELDS}).double()


def input_jet(y: Tensor) -> Tensor:
    """Jet (3, N, 1) of the network input z = 2y − 1: value, dz/dy = 2, d²z/dy² = 0."""
    z = (2.0 * y - 1.0).unsqueeze(-1)
    return torch.stack((z, torch.full_like(z, 2.0), torch.zeros_like(z)))


def field_jets(nets: nn.ModuleDict, y: Tensor, formulation: str, zeta: float) -> dict[str, Tensor]:
    """(3, N) jets of ψ, c₊, c₋ at points y in the given formulation."""
    jet_in = input_jet(y)
    raw = {name: nets[name].taylor(jet_in)[..., 0] for name in FIELDS}
    if formulation == "paper":
        return raw
    # recipe: hard walls through d = y(1 − y) (d' = 1 − 2y, d'' = −2), log-concentrations.
    d = torch.stack((y * (1.0 - y), 1.0 - 2.0 * y, torch.full_like(y, -2.0)))

    def wall_lift(value: float, n: Tensor) -> Tensor:
        return torch.stack((value + d[0] * n[0], d[1] * n[0] + d[0] * n[1],
                            d[2] * n[0] + 2.0 * d[1] * n[1] + d[0] * n[2]))

    jets = {"psi": wall_lift(zeta, raw["psi"])}
    for name, sign in (("c_plus", 1.0), ("c_minus", -1.0)):
        g = wall_lift(-sign * zeta, raw[name])
        c = torch.exp(g[0])
        jets[name] = torch.stack((c, g[1] * c, (g[2] + g[1] ** 2) * c))
    return jets


def field_values(nets: nn.ModuleDict, y: Tensor, formulation: str, zeta: float) -> dict[str, Tensor]:
    """ψ, c₊, c₋ at points y (no derivatives)."""
    z = (2.0 * y - 1.0).unsqueeze(-1)
    raw = {name: nets[name](z)[:, 0] for name in FIELDS}
    if formulation == "paper":
        return raw
    d = y * (1.0 - y)
    return {"psi": zeta + d * raw["psi"], "c_plus": torch.exp(-zeta + d * raw["c_plus"]),
            "c_minus": torch.exp(zeta + d * raw["c_minus"])}


def term_names(formulation: str) -> tuple[str, ...]:
    """Names of the loss terms, in order."""
    return PDE_TERMS + WALL_TERMS if formulation == "paper" else PDE_TERMS


def loss_terms(nets: nn.ModuleDict, y: Tensor, debye_ratio: float, formulation: str, zeta: float) -> list[Tensor]:
    """Mean-squared residual of each PDE and (paper layout) of each field's wall values."""
    if formulation != "paper":
        jets = field_jets(nets, y, formulation, zeta)
        return [r.square().mean() for r in pnp_residuals(jets["psi"], jets["c_plus"], jets["c_minus"], debye_ratio)]
    # One pass over the interior points and the two wall points y = 0, 1 (appended last).
    jets = field_jets(nets, torch.cat((y, y.new_tensor([0.0, 1.0]))), formulation, zeta)
    interior = {name: jet[:, :-2] for name, jet in jets.items()}
    terms = [r.square().mean() for r in pnp_residuals(interior["psi"], interior["c_plus"], interior["c_minus"],
                                                       debye_ratio)]
    targets = {"psi": zeta, "c_plus": math.exp(-zeta), "c_minus": math.exp(zeta)}
    return terms + [(jets[name][0, -2:] - targets[name]).square().mean() for name in FIELDS]


def relative_errors(nets: nn.ModuleDict, y: Tensor, exact: dict[str, np.ndarray], formulation: str,
                    zeta: float) -> dict[str, float]:
    """Relative L2 error of each field on the grid y, and their mean (key ``"mean"``)."""
    with torch.no_grad():
        values = field_values(nets, y, formulation, zeta)
    errors = {name: float(np.linalg.norm(values[name].double().cpu().numpy() - exact[name]) / np.linalg.norm(exact[name]))
              for name in FIELDS}
    errors["mean"] = float(np.mean([errors[name] for name in FIELDS]))
    return errors


class DoubleLayerTask:
    """The 1D NPP double layer of a CouplingConfig, for the trainer."""

    def __init__(self, config: CouplingConfig):
        self.config = config
        self.names = term_names(config.formulation)

    def build_model(self, generator: torch.Generator) -> nn.ModuleDict:
        return build_networks(self.config.width, self.config.depth, generator)

    def sample(self, generator: torch.Generator) -> LinePoints:
        return LinePoints(collocation_points(self.config.debye_ratio, self.config.n_interior, generator,
                                             torch.float64))

    def bind(self, model: nn.ModuleDict, points: LinePoints) -> None:
        """No gauges to bind."""

    def before_step(self, model: nn.ModuleDict, step: int) -> None:
        """Nothing changes with the step."""

    def loss_terms(self, model: nn.ModuleDict, points: LinePoints) -> dict[str, Tensor]:
        c = self.config
        return dict(zip(self.names, loss_terms(model, points.y, c.debye_ratio, c.formulation, c.zeta)))

    def evaluator(self, device: torch.device, dtype: torch.dtype):
        c = self.config
        y = torch.linspace(0.0, 1.0, c.n_eval, dtype=torch.float64)
        exact = exact_solution(y.numpy(), c.debye_ratio, c.zeta)
        y = y.to(device=device, dtype=dtype)
        return lambda model: relative_errors(model, y, exact, c.formulation, c.zeta)

    def solution(self, model: nn.ModuleDict, device: torch.device, dtype: torch.dtype, info: dict) -> dict:
        return info


class GradientRecorder(Observer):
    """Keeps, per history row, the per-term gradient vectors (tests only: memory grows with the
    networks; their norms are the rows' `gnorm_<term>` columns)."""

    def __init__(self):
        self.vectors: list[list[np.ndarray]] = []

    def logged(self, trainer: Trainer, row: dict) -> None:
        self.vectors.append([g.double().cpu().numpy().copy() for g in trainer.step_gradients])


def _cosine_matrix(row: dict, names: Sequence[str]) -> list[list[float]]:
    """The K×K cosine matrix from a history row's `cos_<a>__<b>` columns."""
    return [[1.0 if a == b else row.get(f"cos_{a}__{b}", row.get(f"cos_{b}__{a}")) for b in names] for a in names]


def train_configuration(config: CouplingConfig, observers: Sequence[Observer] = (),
                        resume: dict | None = None) -> dict[str, Any]:
    """Train one configuration from scratch (or from `resume`, a Trainer.state() of the same
    configuration) with eofpinn's trainer and `observers` (e.g. checkpoints), and measure it.

    Returns a dict with ``method``, ``config`` (plain values), ``initial_error``,
    ``final_error`` and ``best_error`` (mean relative L2; best over the history rows),
    ``final_errors`` (per field), ``best_step``, ``diverged``, ``seconds``, ``ms_per_step``,
    and ``history``: per row (θ_k before update k, every ``log_every`` steps and the last)
    ``log_step``, ``error``, ``loss`` (weighted), ``terms`` (K per row), ``weights``,
    ``alignment``, ``cosine`` (K×K), ``gradient_norms`` (and ``term_gradients`` when
    ``record_gradients``). A run whose loss turns non-finite stops there (``diverged``).
    """
    from eofpinn.errors import SolverError

    recorder = GradientRecorder()
    watchers = [recorder, *observers] if config.record_gradients else list(observers)
    trainer = Trainer(DoubleLayerTask(config), config.settings(), watchers)
    if resume is not None:
        trainer.load_state(resume)
    start = time.perf_counter()
    diverged = False
    try:
        trainer.train()
    except SolverError:
        diverged = True
    seconds = time.perf_counter() - start
    rows = trainer.history
    names = trainer.term_names
    history: dict[str, list] = {
        "log_step": [r["step"] for r in rows],
        "error": [r.get("err_mean", math.nan) for r in rows],
        "loss": [r["loss"] for r in rows],
        "terms": [[r[f"loss_{n}"] for n in names] for r in rows],
        "weights": [[r[f"weight_{n}"] for n in names] for r in rows],
        "alignment": [r["grad_alignment"] for r in rows],
        "cosine": [_cosine_matrix(r, names) for r in rows],
        "gradient_norms": [[r[f"gnorm_{n}"] for n in names] for r in rows],
    }
    if config.record_gradients:
        history["term_gradients"] = recorder.vectors
    errors = [e for e in history["error"] if math.isfinite(e)]
    final = {k[4:]: v for k, v in rows[-1].items() if k.startswith("err_")} if rows else {"mean": math.nan}
    diverged = diverged or not math.isfinite(final.get("mean", math.nan))
    best_index = int(np.argmin(errors)) if errors else 0
    return {
        "method": method_name(config.optimizer, config.weighting, config.adapters),
        "formulation": config.formulation,
        "debye_ratio": config.debye_ratio,
        "seed": config.seed,
        "config": asdict(config),
        "term_names": list(names),
        "initial_error": history["error"][0] if rows else math.nan,
        "final_error": math.inf if diverged else final["mean"],
        "final_errors": final,
        "best_error": min(errors) if errors else math.nan,
        "best_step": history["log_step"][best_index] if errors else 0,
        "diverged": diverged,
        "seconds": seconds,
        "ms_per_step": 1e3 * trainer.train_seconds / max(trainer.step, 1),
        "steps_done": trainer.step,
        "parameters": sum(p.numel() for p in trainer.params),
        "history": history,
    }


# --------------------------------------------------------------------------- summary


def _geometric_mean(values: Sequence[float]) -> float:
    values = [v for v in values if math.isfinite(v) and v > 0]
    return float(np.exp(np.mean(np.log(values)))) if values else math.nan


def degradation_table(results: Sequence[dict[str, Any]], key: str = "final_error") -> list[dict[str, Any]]:
    """Per (formulation, method): the error at each ε (geometric mean over seeds) and the ratio.

    ``ratio`` = error at the smallest ε (strongest coupling) ÷ error at the largest ε
    (weakest). Each result needs ``method``, ``debye_ratio`` and ``key``; ``formulation`` is
    optional (default ``"paper"``). Rows keep the order in which methods first appear; each row
    has ``formulation``, ``method``, ``errors`` ({ε: error}), ``ratio``, ``n_seeds`` and
    ``paper`` (the paper's claim, or ``""``). A diverged (non-finite) run is left out of its mean.
    """
    groups: dict[tuple[str, str], dict[float, list[float]]] = {}
    for r in results:
        group = groups.setdefault((r.get("formulation", "paper"), r["method"]), {})
        group.setdefault(float(r["debye_ratio"]), []).append(float(r[key]))
    rows = []
    for (formulation, method), by_eps in groups.items():
        errors = {eps: _geometric_mean(by_eps[eps]) for eps in sorted(by_eps, reverse=True)}
        weakest, strongest = max(errors), min(errors)
        rows.append({
            "formulation": formulation,
            "method": method,
            "errors": errors,
            "ratio": errors[strongest] / errors[weakest] if len(errors) > 1 else math.nan,
            "n_seeds": max(len(v) for v in by_eps.values()),
            "paper": PAPER_CLAIM.get(method, "") if formulation == "paper" else "",
        })
    return rows
