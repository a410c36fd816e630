r"""Coupling robustness on the 1D Nernst–Planck–Poisson system (validation study "coupling_1d").

The claim under test (arXiv 2605.23391): with SOAP + inverse-gradient-norm balancing ("SOAP+GN")
the final-epoch error of a coupled PINN degrades by ≤ 1.1× over a 5–50× change of the coupling,
with Adam+GN by > 100×. Here the coupling is the Debye ratio ε (strength ∝ 1/ε²).

System on y ∈ [0, 1] (physics.md §2, no flow, no applied field), ζ̂ = ``zeta``:

    Poisson   ε² ψ'' + (c₊ − c₋)/2 = 0
    NP₊       (c₊' + c₊ ψ')' = c₊'' + c₊' ψ' + c₊ ψ'' = 0
    NP₋       (c₋' − c₋ ψ')' = c₋'' − c₋' ψ' − c₋ ψ'' = 0
    walls     ψ(0) = ψ(1) = ζ̂,   c±(0) = c±(1) = exp(∓ζ̂)      (Boltzmann wall ions)

Exact solution: ψ = Poisson–Boltzmann profile (ε² ψ'' = sinh ψ), c± = exp(∓ψ).

Networks: S = 3 tanh MLPs (ψ, c₊, c₋), Xavier-uniform weights, zero biases, input z = 2y − 1.
Two formulations:

* ``paper`` (the layout the paper's claim is about): the networks output ψ, c₊, c₋ directly,
  walls are soft penalties; 6 loss terms = 3 PDE residuals + 3 wall groups (one per field).
* ``recipe`` (method.md "Formulation matters more than the optimiser"): hard walls through the
  distance d = y(1 − y) and log-concentrations, ψ = ζ̂ + d N_ψ, c± = exp(∓ζ̂ + d N_±);
  3 loss terms (the PDE residuals only).

Collocation: fixed points, half uniform on [0, 1], half in two wall bands of height
min(5√2 ε, 0.3) (the paper's 5 ε_p with ε_p = √2 ε). Error: mean over (ψ, c₊, c₋) of the
relative L2 error ‖f − f*‖₂/‖f*‖₂ on a uniform dense grid. Degradation ratio of a method:
error at the strongest coupling (smallest ε) ÷ error at the weakest (largest ε).

Diagnostics every ``log_every`` steps (arXiv 2502.00604): pairwise cosines of the per-term
gradients ∇_θ L_i and the alignment score A = 2 ‖(1/K) Σ v_i/‖v_i‖‖² − 1.
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

from eofpinn.physics.exact import poisson_boltzmann
from eofpinn.solvers.pinn.networks import MLP
from eofpinn.solvers.pinn.soap import SOAP
from eofpinn.solvers.pinn.weighting import (
    gradient_alignment_score,
    make_weighting,
    pairwise_cosine,
    per_term_gradients,
    weighted_loss,
)

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
        optimizer: ``"soap"`` or ``"adam"``.
        weighting: ``"gn"``, ``"lra"`` or ``"none"`` (eofpinn.solvers.pinn.weighting).
        formulation: ``"paper"`` (direct outputs, soft walls) or ``"recipe"`` (hard walls, log c).
        seed: seeds the collocation points and the network initialisation.
        steps: optimisation steps (full batch).
        zeta: wall potential ζ̂.
        width, depth: hidden layers of each of the three MLPs.
        n_interior: collocation points (half uniform, half in the wall bands).
        lr: learning rate of either optimiser (the paper's SOAP uses 3e-4 over 50k steps; the
            budgets here are 10–50× shorter).
        update_every: F, steps between loss-weight updates (first on step 1).
        log_every: steps between gradient diagnostics (first on step 1, and the last step).
        eval_every: steps between evaluations of the error (for best-ever; and the last step).
        n_eval: points of the uniform evaluation grid.
        dtype: training precision.
        record_gradients: keep the per-term gradient vectors of every diagnostic step
            (tests only: memory grows with the network size).
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
    log_every: int = 100
    eval_every: int = 50
    n_eval: int = 2001
    dtype: torch.dtype = torch.float32
    record_gradients: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in ("soap", "adam"):
            raise ValueError(f"optimizer must be 'soap' or 'adam', got {self.optimizer!r}")
        if self.formulation not in FORMULATIONS:
            raise ValueError(f"formulation must be one of {FORMULATIONS}, got {self.formulation!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not 0.0 < self.debye_ratio < 1.0:
            raise ValueError(f"debye_ratio must lie in (0, 1), got {self.debye_ratio}")


def method_name(optimizer: str, weighting: str) -> str:
    """Display name of an (optimiser, weighting) pair, e.g. ``"SOAP+GN"``."""
    return f"{'SOAP' if optimizer == 'soap' else 'Adam'}+{weighting.upper() if weighting != 'none' else 'none'}"


def parse_method(name: str) -> tuple[str, str]:
    """Inverse of :func:`method_name`: ``"SOAP+GN"`` → ``("soap", "gn")`` (case-insensitive)."""
    optimizer, _, weighting = name.strip().lower().partition("+")
    if optimizer not in ("soap", "adam") or weighting not in ("gn", "lra", "none"):
        raise ValueError(f"method {name!r}: expected OPTIMISER+WEIGHTING, e.g. SOAP+GN, Adam+none, Adam+LRA")
    return optimizer, weighting


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
    n_top = n_points - n_uniform - n_bottom
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


# --------------------------------------------------------------------------- networks


def build_networks(width: int, depth: int, seed: int, dtype: torch.dtype = torch.float32) -> nn.ModuleDict:
    """Three tanh MLPs (one per field), Xavier-uniform weights, zero biases, seeded."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        nets = nn.ModuleDict({name: MLP(1, width, depth, 1) for name in FIELDS})
    return nets.to(dtype)


def network_jet(mlp: MLP, y: Tensor) -> Tensor:
    """(3, N) jet of a scalar network in y: value, d/dy, d²/dy², input z = 2y − 1.

    Taylor mode through each layer (tanh' = 1 − t², tanh'' = −2 t (1 − t²)): one pass, no nested
    autograd.
    """
    z = (2.0 * y - 1.0).unsqueeze(-1)
    jet = torch.stack((z, torch.full_like(z, 2.0), torch.zeros_like(z)))
    for i, layer in enumerate(mlp.layers):
        h = jet @ layer.weight.T
        h = torch.cat((h[:1] + layer.bias, h[1:]), dim=0)
        if i == len(mlp.layers) - 1:
            jet = h
            break
        t = torch.tanh(h[0])
        slope = 1.0 - t * t
        jet = torch.stack((t, slope * h[1], slope * h[2] - 2.0 * t * slope * h[1] ** 2))
    return jet[..., 0]


def field_jets(nets: nn.ModuleDict, y: Tensor, formulation: str, zeta: float) -> dict[str, Tensor]:
    """(3, N) jets of ψ, c₊, c₋ at points y in the given formulation."""
    raw = {name: network_jet(nets[name], y) for name in FIELDS}
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
    errors = {name: float(np.linalg.norm(values[name].double().numpy() - exact[name]) / np.linalg.norm(exact[name]))
              for name in FIELDS}
    errors["mean"] = float(np.mean([errors[name] for name in FIELDS]))
    return errors


# --------------------------------------------------------------------------- training


def _make_optimizer(config: CouplingConfig, params: list[Tensor]) -> torch.optim.Optimizer:
    if config.optimizer == "soap":
        # Paper's workshop settings (method.md "SOAP"): betas (0.95, 0.95), preconditioner every 2 steps.
        return SOAP(params, lr=config.lr, betas=(0.95, 0.95), precondition_frequency=2)
    return torch.optim.Adam(params, lr=config.lr)


def train_configuration(config: CouplingConfig) -> dict[str, Any]:
    """Train one configuration from scratch and measure it.

    Returns a dict with ``method``, ``config`` (plain values), ``initial_error``,
    ``final_error`` and ``best_error`` (mean relative L2; best over the evaluated steps),
    ``final_errors`` (per field), ``best_step``, ``diverged``, ``seconds``, ``ms_per_step``,
    and ``history``: ``eval_step``/``error``
    (every ``eval_every``) and ``log_step``, ``loss`` (weighted), ``terms`` (K per step),
    ``weights``, ``alignment``, ``cosine`` (K×K per step), ``gradient_norms``
    (and ``term_gradients`` when ``record_gradients``).
    """
    generator = torch.Generator().manual_seed(config.seed)
    y = collocation_points(config.debye_ratio, config.n_interior, generator, config.dtype)
    y_eval = torch.linspace(0.0, 1.0, config.n_eval, dtype=torch.float64)
    exact = exact_solution(y_eval.numpy(), config.debye_ratio, config.zeta)
    y_eval = y_eval.to(config.dtype)

    nets = build_networks(config.width, config.depth, config.seed, config.dtype)
    params = [p for p in nets.parameters() if p.requires_grad]
    optimizer = _make_optimizer(config, params)
    names = term_names(config.formulation)
    weighting = make_weighting(config.weighting, len(names), update_every=config.update_every, dtype=config.dtype)
    history: dict[str, list] = {key: [] for key in ("eval_step", "error", "log_step", "loss", "terms", "weights",
                                                    "alignment", "cosine", "gradient_norms")}
    if config.record_gradients:
        history["term_gradients"] = []
    best_error, best_step, diverged = math.inf, 0, False
    initial_error = relative_errors(nets, y_eval, exact, config.formulation, config.zeta)["mean"]

    start = time.perf_counter()
    for step in range(1, config.steps + 1):
        optimizer.zero_grad(set_to_none=True)
        terms = loss_terms(nets, y, config.debye_ratio, config.formulation, config.zeta)
        log_now = (step - 1) % config.log_every == 0 or step == config.steps
        grads = per_term_gradients(terms, params) if (log_now or weighting.needs_update(step)) else None
        if weighting.needs_update(step):
            weighting.update(grads)
        objective = weighted_loss(terms, weighting.weights)
        if log_now:
            history["log_step"].append(step)
            history["loss"].append(float(objective.detach()))
            history["terms"].append([float(t.detach()) for t in terms])
            history["weights"].append(weighting.weights_list())
            history["alignment"].append(float(gradient_alignment_score(grads)))
            history["cosine"].append(pairwise_cosine(grads).tolist())
            history["gradient_norms"].append([float(torch.linalg.vector_norm(g)) for g in grads])
            if config.record_gradients:
                history["term_gradients"].append([g.double().numpy().copy() for g in grads])
            if not math.isfinite(history["loss"][-1]):
                diverged = True
                break
        objective.backward()
        optimizer.step()
        if step % config.eval_every == 0 or step == config.steps:
            error = relative_errors(nets, y_eval, exact, config.formulation, config.zeta)["mean"]
            history["eval_step"].append(step)
            history["error"].append(error)
            if error < best_error:
                best_error, best_step = error, step
    seconds = time.perf_counter() - start

    final = relative_errors(nets, y_eval, exact, config.formulation, config.zeta)
    diverged = diverged or not math.isfinite(final["mean"])
    plain_config = {k: (str(v) if isinstance(v, torch.dtype) else v) for k, v in asdict(config).items()}
    return {
        "method": method_name(config.optimizer, config.weighting),
        "formulation": config.formulation,
        "debye_ratio": config.debye_ratio,
        "seed": config.seed,
        "config": plain_config,
        "term_names": list(names),
        "initial_error": initial_error,
        "final_error": final["mean"],
        "final_errors": final,
        "best_error": best_error if math.isfinite(best_error) else final["mean"],
        "best_step": best_step,
        "diverged": diverged,
        "seconds": seconds,
        "ms_per_step": 1e3 * seconds / max(step, 1),
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
