"""Time per training step of SOAP+GN: eofpinn's step against the straightforward one.

"Straightforward" (`obvious_step`) is the step as the reference paper's script (arXiv
2605.23391) takes it, written here the obvious way for the same case, networks and
formulation as eofpinn's: the inputs x and y are leaf tensors that require grad; for each
block output f, (f_x, f_y) = autograd.grad(f.sum(), (x, y), create_graph=True), then f_xx and
f_yy from those (nested reverse mode, one output at a time); the interior points get the
second derivatives, the reservoir ends values and first derivatives (end_velocity needs u_x);
every loss term is its own scalar and gets its own backward pass on *every* step; the
per-term gradients are summed with the GN weights; a SOAP step.

eofpinn's step (`Trainer.train_step`) differs in two ways: the residual derivatives come from
Taylor-mode propagation (one forward pass of the jets), and the per-term gradients are formed
only on a GN update step (every F steps) — every other step is ONE backward pass of the
weighted sum. The row "eofpinn, autograd derivatives" separates the two savings.

The row "old emulation" is what this benchmark used to call straightforward: eofpinn's
trainer with `derivatives = "autograd"` and its GN-update path (`per_term_gradients` of the
*stacked* loss terms) on every step. It is not what a straightforward script costs: the
backward pass of one entry of a stacked tensor sends zero cotangents into every other term
(StackBackward), so each of the K per-term passes is a full backward pass of all terms
through the vmapped (`is_grads_batched`) double-backward graph of all four networks on all
points. Kept, with --emulation, to show the size of that artefact.

Set-up: the paper's case (`cases/paper_eof.toml`: ε = 0.1414, ζ̂ = 1, Ê = 1, paper model,
Boltzmann walls, reservoir ends), eofpinn's default formulation, S = 4 blocks of 5 × 128 tanh,
3000 interior points, 200 per wall and end, float32, SOAP (precondition frequency 2, the
paper's); `--size quick` gives 4 × 64 blocks and 1000 interior points. The implementations
are timed interleaved (one round = one timed step of each, in turn), so a change of machine
load hits all of them alike; each sample is the mean of two consecutive steps (SOAP refreshes
its eigenbases every second step). Reported: medians of plain steps, of GN update steps, and
amortised ms/step = plain + (update − plain)/F. Usage:

    python benchmarks/pinn_step_benchmark.py [--rounds 7] [--size paper|quick] [--threads 1]
        [--gn-frequency 1000] [--emulation] [--candidates] [--breakdown] [--why]

--candidates adds eofpinn's step as it was before the jet row groups were split (one
concatenated jet per layer), with the four blocks fused into batched matmuls (a prototype,
not in eofpinn), with `compile = true` (the first step, compilation included, is reported
separately) and, with --threads-row, with 2 threads. --why breaks the old emulation's cost down (see above).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import types
from collections.abc import Callable

import torch
from torch import Tensor

from eofpinn.cases import case_from_problem, straight_problem
from eofpinn.cases.model import PINNSettings
from eofpinn.cases.pinn_settings import replace
from eofpinn.solvers.pinn import ChannelTask
from eofpinn.solvers.pinn.conflict import per_term_gradients
from eofpinn.solvers.pinn.losses import pde_terms, reservoir_terms
from eofpinn.solvers.pinn.trainer import Trainer

PAPER_NETWORK = {"network.width": 128, "network.depth": 5, "points.n_interior": 3000, "points.n_boundary": 200,
                 "dtype": "float32", "optimizer.name": "soap", "balancing.name": "gn",
                 "optimizer.precondition_frequency": 2, "optimizer.learning_rate": 3e-4}
SIZES = {
    "paper": {},
    "quick": {"network.width": 64, "network.depth": 4, "points.n_interior": 1000},
}


def paper_problem():
    return straight_problem(0.1414, 1.0, 1.0, ends="reservoir", ion_wall="boltzmann", equations="paper")


def paper_trainer(settings: PINNSettings) -> Trainer:
    return Trainer(ChannelTask(case_from_problem(paper_problem(), pinn=settings), settings), settings)


# ---------------------------------------------------------------------- the straightforward step
def _nested_autograd_jets(networks, points: Tensor, orders: dict[str, int]) -> dict[str, Tensor]:
    """Raw block jets (5, N, K) by nested autograd, one output at a time, as a plain script does
    it: derivative rows beyond a block's order are zero constants (no graph)."""
    x = points[:, :1].detach().requires_grad_(True)
    y = points[:, 1:].detach().requires_grad_(True)
    outputs = networks.raw_values(torch.cat((x, y), dim=1))
    out = {}
    for name, values in outputs.items():
        columns = []
        for k in range(values.shape[1]):
            f = values[:, k:k + 1]
            rows = [f] + [torch.zeros_like(f)] * 4
            if orders[name] >= 1:
                rows[1], rows[2] = torch.autograd.grad(f.sum(), (x, y), create_graph=True)
            if orders[name] >= 2:
                (rows[3],) = torch.autograd.grad(rows[1].sum(), x, create_graph=True)
                (rows[4],) = torch.autograd.grad(rows[2].sum(), y, create_graph=True)
            columns.append(torch.cat(rows, dim=1).T)  # (5, N)
        out[name] = torch.stack(columns, dim=-1)
    return out


def obvious_terms(trainer: Trainer) -> dict[str, Tensor]:
    """The loss terms of the paper case as separate scalars, from nested autograd: the interior
    points with second derivatives, the ends with values and first derivatives (the walls carry
    no term: hard walls and Boltzmann ions are exact). Same values as eofpinn's loss_terms."""
    model, points, problem = trainer.model, trainer.points, trainer.task.problem
    if problem.ends != "reservoir" or not (model.formulation.hard_psi and model.formulation.hard_ions
                                           and model.formulation.hard_velocity):
        raise ValueError("obvious_terms is written for the paper case (reservoir ends, hard walls and ions)")
    names = model.networks.blocks.keys()
    interior = model.formulation.fields(
        _nested_autograd_jets(model.networks, points.interior, dict.fromkeys(names, 2)), points.interior)
    terms = pde_terms(problem, interior)
    end_orders = {**dict.fromkeys(names, 0), "flow": 1}
    inlet, outlet = (model.formulation.fields(_nested_autograd_jets(model.networks, p, end_orders), p)
                     for p in (points.inlet, points.outlet))
    terms.update(reservoir_terms(problem, inlet, outlet, points.psi_inlet, points.psi_outlet))
    return {name: terms[name] for name in trainer.term_names}


def obvious_step(trainer: Trainer, clock: list[float] | None = None) -> None:
    """One straightforward SOAP+GN step: one backward pass per loss term, every step."""
    ticks = [time.perf_counter()]
    terms = obvious_terms(trainer)
    ticks.append(time.perf_counter())
    grads = per_term_gradients(list(terms.values()), trainer.params)  # separate scalars: K passes
    _balance_and_step(trainer, grads, torch.stack([t.detach() for t in terms.values()]), ticks, clock)


def emulation_step(trainer: Trainer, clock: list[float] | None = None) -> None:
    """The old emulation: the trainer's autograd path, per-term gradients of the stacked terms
    every step (each of the K passes a full backward pass; see the module docstring)."""
    ticks = [time.perf_counter()]
    terms = trainer.terms_fn(trainer.points)
    ticks.append(time.perf_counter())
    grads = per_term_gradients(list(terms), trainer.params)
    _balance_and_step(trainer, grads, terms.detach(), ticks, clock)


def _balance_and_step(trainer: Trainer, grads: list, values: torch.Tensor, ticks: list[float],
                      clock: list[float] | None) -> None:
    """The rest of a step from its per-term gradients: the balancer's weights, p.grad = Σ λ_i ∇L_i,
    the optimiser step (its time the last tick), the phase times added to `clock`."""
    wanted = trainer.balancer.needs_gradients(trainer.balance, trainer.step)
    weights, trainer.balance = trainer.balancer.update(trainer.balance, trainer.step, values,
                                                       grads if wanted else None)
    trainer.set_weighted_gradient(grads, weights)
    ticks.append(time.perf_counter())
    trainer.optimizer.step()
    trainer.step += 1
    ticks.append(time.perf_counter())
    _add(clock, ticks)


def eofpinn_step(trainer: Trainer, clock: list[float] | None = None) -> None:
    """eofpinn's own step (Trainer.train_step); no phase breakdown."""
    start = time.perf_counter()
    trainer.train_step()
    if clock is not None:
        clock[0] += time.perf_counter() - start


def _add(clock: list[float] | None, ticks: list[float]) -> None:
    if clock is not None:
        for i in range(3):
            clock[i] += ticks[i + 1] - ticks[i]


# ---------------------------------------------------------------------- candidate changes
def legacy_mlp_jets(layers: list[tuple[Tensor, Tensor]], jet: Tensor) -> Tensor:
    """eofpinn's Taylor-mode MLP before the row groups were split: one (5, N, W) jet per layer,
    concatenated forward and sliced (zero-filled gradients) backward."""
    *hidden, (weight, bias) = layers
    for w, b in hidden:
        value, derivatives = torch.addmm(b, jet[0], w.T), jet[1:] @ w.T
        d = derivatives.shape[0] // 2
        a = torch.tanh(value)
        slope = 1.0 - a * a
        curvature = -2.0 * a * slope
        jet = torch.cat((a.unsqueeze(0), slope * derivatives[:d],
                         torch.addcmul(slope * derivatives[d:], curvature, derivatives[:d] ** 2)), dim=0)
    return torch.cat(((jet[0] @ weight.T + bias).unsqueeze(0), jet[1:] @ weight.T))


def legacy_raw_jets(self, points: Tensor, mode: str = "taylor") -> dict[str, Tensor]:
    features = self.embedding.taylor(points)
    return {name: legacy_mlp_jets(block.weights_and_biases, features) for name, block in self.blocks.items()}


def fused_raw_jets(self, points: Tensor, mode: str = "taylor") -> dict[str, Tensor]:
    """Prototype: the four blocks' hidden layers as one batched matmul (bmm over the blocks, the
    weights stacked on the fly so that parameters, checkpoints and SOAP stay per block)."""
    jet = self.embedding.taylor(points)  # (5, N, F)
    layers = [block.weights_and_biases for block in self.blocks.values()]
    count, depth, n = len(layers), len(layers[0]) - 1, jet.shape[1]

    def stacked(k: int) -> tuple[Tensor, Tensor]:
        return (torch.stack([blk[k][0] for blk in layers]).transpose(1, 2),
                torch.stack([blk[k][1] for blk in layers])[:, None, :])

    w, b = stacked(0)
    h0 = torch.baddbmm(b, jet[0].expand(count, -1, -1), w)
    rows = torch.matmul(jet[1:].reshape(-1, jet.shape[-1]), w).view(count, 4, n, -1)
    h1, h2 = rows[:, :2], rows[:, 2:]
    for k in range(depth):
        value = torch.tanh(h0)
        slope = (1.0 - value * value).unsqueeze(1)
        first, second = slope * h1, torch.addcmul(slope * h2, -2.0 * value.unsqueeze(1) * slope, h1**2)
        if k + 1 < depth:
            w, b = stacked(k + 1)
            h0 = torch.baddbmm(b, value, w)
            h1 = torch.bmm(first.reshape(count, 2 * n, -1), w).view(count, 2, n, -1)
            h2 = torch.bmm(second.reshape(count, 2 * n, -1), w).view(count, 2, n, -1)
    out = {}
    for s, (name, (weight, bias)) in enumerate(zip(self.blocks, (blk[-1] for blk in layers))):
        out[name] = torch.cat((torch.addmm(bias, value[s], weight.T).unsqueeze(0), first[s] @ weight.T,
                               second[s] @ weight.T))
    return out


def with_raw_jets(trainer: Trainer, raw_jets) -> Trainer:
    """The trainer with its networks' raw_jets replaced (a candidate implementation)."""
    trainer.model.networks.raw_jets = types.MethodType(raw_jets, trainer.model.networks)
    return trainer


def with_threads(step: Callable, threads: int) -> Callable:
    """`step` run with `threads` torch threads (restored afterwards)."""
    def run(trainer: Trainer, clock: list[float] | None = None) -> None:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            step(trainer, clock)
        finally:
            torch.set_num_threads(previous)
    return run


def check_candidates(settings: PINNSettings) -> float:
    """Largest relative difference of the candidate jets from eofpinn's (float32, same weights)."""
    trainer = paper_trainer(settings)
    points = trainer.points.stacked()[0]
    networks = trainer.model.networks
    reference = networks.raw_jets(points)
    worst = 0.0
    for candidate in (legacy_raw_jets, fused_raw_jets):
        jets = candidate(networks, points)
        worst = max(worst, max(float((jets[k] - reference[k]).abs().max() / reference[k].abs().max())
                               for k in reference))
    return worst


# ---------------------------------------------------------------------- timing
class Variant:
    """One implementation under test: a trainer and the step function that advances it."""

    def __init__(self, label: str, trainer: Trainer, step: Callable, rounds: int | None = None):
        self.label, self.trainer, self.step = label, trainer, step
        self.rounds = rounds  # at most this many timed rounds (the slow emulation)
        self.plain: list[float] = []
        self.update: list[float] = []
        self.cpu: list[float] = []
        self.first_ms = float("nan")
        self.phases = [0.0, 0.0, 0.0]
        self.phase_steps = 0

    def _sync(self) -> None:
        if self.trainer.device.type == "cuda":
            torch.cuda.synchronize()

    def timed(self, gn_update: bool) -> float:
        """ms per step, mean of two consecutive steps (a GN update step alone when asked)."""
        trainer = self.trainer
        steps = 1 if gn_update else 2
        trainer.step = 0 if gn_update else 1  # GN updates fall on steps ≡ 0 (mod F), counted from 0
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            self.step(trainer, None if gn_update else self.phases)
        self._sync()
        if not gn_update:
            self.phase_steps += steps
            self.cpu.append(1e3 * (time.process_time() - cpu) / steps)
        return 1e3 * (time.perf_counter() - start) / steps

    def summary(self, every: int) -> dict:
        plain = statistics.median(self.plain)
        update = statistics.median(self.update) if self.update else plain
        return {"plain": plain, "update": update, "amortised": plain + (update - plain) / every,
                "samples": len(self.plain), "cpu": statistics.median(self.cpu), "first": self.first_ms,
                "phases": [1e3 * p / max(self.phase_steps, 1) for p in self.phases]}


def run(variants: list[Variant], rounds: int, update_rounds: int) -> None:
    for v in variants:  # warm-up: SOAP's first step (eigh), allocator, compilation
        start = time.perf_counter()
        v.step(v.trainer)
        v.first_ms = 1e3 * (time.perf_counter() - start)
        v.step(v.trainer)
        v.phases, v.phase_steps = [0.0, 0.0, 0.0], 0
    for r in range(rounds):
        for v in variants:
            if v.rounds is None or r < v.rounds:
                v.plain.append(v.timed(gn_update=False))
        if r < update_rounds:
            for v in variants:
                if v.rounds is None or r < v.rounds:
                    v.update.append(v.timed(gn_update=True))


def settings_for(size: str, device: str, gn_frequency: int, extra: dict | None = None) -> PINNSettings:
    return replace(PINNSettings(), {**PAPER_NETWORK, **SIZES[size], "device": device,
                                    "balancing.every": gn_frequency, **(extra or {})})


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def emulation_breakdown(settings: PINNSettings, rounds: int) -> None:
    """Why the old emulation is slow: the gradient phase of one step, four ways, interleaved."""
    trainer = paper_trainer(settings)
    model, points, params = trainer.model, trainer.points, trainer.params

    def terms_dict(mode: str) -> dict[str, Tensor]:
        model.derivatives = mode
        return trainer.task.loss_terms(model, points)

    ways = {
        "vmapped autograd, stacked terms, K passes (old emulation)":
            lambda: per_term_gradients(list(torch.stack(list(terms_dict("autograd").values()))), params),
        "vmapped autograd, separate scalar terms, K passes":
            lambda: per_term_gradients(list(terms_dict("autograd").values()), params),
        "vmapped autograd, ONE pass of the sum":
            lambda: torch.autograd.grad(torch.stack(list(terms_dict("autograd").values())).sum(), params),
        "per-output nested autograd, separate terms, K passes (straightforward)":
            lambda: per_term_gradients(list(obvious_terms(trainer).values()), params),
        "Taylor mode, stacked terms, K passes (eofpinn's GN update step)":
            lambda: per_term_gradients(list(torch.stack(list(terms_dict("taylor").values()))), params),
        "Taylor mode, separate scalar terms, K passes":
            lambda: per_term_gradients(list(terms_dict("taylor").values()), params),
        "Taylor mode, ONE pass of the sum (eofpinn's plain step)":
            lambda: torch.autograd.grad(torch.stack(list(terms_dict("taylor").values())).sum(), params),
    }
    wall = {label: [] for label in ways}
    cpu = {label: [] for label in ways}
    for _ in range(rounds):
        for label, way in ways.items():
            start, clock = time.perf_counter(), time.process_time()
            way()
            wall[label].append(1e3 * (time.perf_counter() - start))
            cpu[label].append(1e3 * (time.process_time() - clock))
    print(f"{'loss terms + their gradients, one step':72s} {'wall ms':>9s} {'cpu ms':>9s}")
    for label in ways:
        print(f"{label:72s} {statistics.median(wall[label]):9.1f} {statistics.median(cpu[label]):9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (one plain sample per implementation each)")
    parser.add_argument("--update-rounds", type=int, default=2, help="rounds that also time a GN update step")
    parser.add_argument("--size", default="paper", choices=tuple(SIZES))
    parser.add_argument("--gn-frequency", type=int, default=1000, help="F, steps between GN updates (paper: 1000)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--emulation", action="store_true", help="also time the old emulation (slow)")
    parser.add_argument("--emulation-rounds", type=int, default=3)
    parser.add_argument("--candidates", action="store_true",
                        help="also time eofpinn's step before and with candidate speed-ups")
    parser.add_argument("--threads-row", action="store_true", help="with --candidates: also eofpinn with 2 threads")
    parser.add_argument("--why", action="store_true", help="only the breakdown of the old emulation's cost")
    parser.add_argument("--breakdown", action="store_true", help="print loss / gradient / optimiser ms")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = settings_for(args.size, args.device, args.gn_frequency)
    if args.why:
        print(f"size {args.size}, {torch.get_num_threads()} thread(s), load average {load_average()}")
        emulation_breakdown(settings, args.rounds)
        print(f"load average {load_average()}")
        return
    variants = [Variant("straightforward: nested autograd, backward per term", paper_trainer(settings), obvious_step)]
    if args.emulation:
        emulation = paper_trainer(settings)
        emulation.model.derivatives = "autograd"
        variants.append(Variant("old emulation: stacked terms, vmapped autograd", emulation, emulation_step,
                                args.emulation_rounds))
    autograd = paper_trainer(settings)
    autograd.model.derivatives = "autograd"
    variants += [Variant("eofpinn, autograd derivatives", autograd, eofpinn_step),
                 Variant("eofpinn (Taylor mode), default", paper_trainer(settings), eofpinn_step)]
    if args.candidates:
        print(f"candidate jets vs eofpinn's: largest relative difference {check_candidates(settings):.1e}")
        compiled = settings_for(args.size, args.device, args.gn_frequency, {"compile": True})
        variants += [
            Variant("eofpinn before: one (5,N,W) jet per layer (cat)", with_raw_jets(paper_trainer(settings),
                                                                                     legacy_raw_jets), eofpinn_step),
            Variant("eofpinn + blocks fused (bmm prototype)", with_raw_jets(paper_trainer(settings), fused_raw_jets),
                    eofpinn_step),
            Variant("eofpinn + compile = true", paper_trainer(compiled), eofpinn_step),
        ]
        if args.threads_row:
            variants.append(Variant("eofpinn with 2 threads", paper_trainer(settings), with_threads(eofpinn_step, 2)))
    before = load_average()
    start = time.perf_counter()
    run(variants, args.rounds, args.update_rounds)
    trainer = variants[0].trainer
    s = settings.network
    print(f"paper case, 4 blocks of {s.depth} x {s.width} tanh ({trainer.model.networks.parameter_count} parameters), "
          f"{settings.points.n_interior} interior + {settings.points.n_boundary} per wall/end points, "
          f"{len(trainer.term_names)} loss terms, float32, SOAP (precondition frequency 2), GN every "
          f"F = {args.gn_frequency}, device {args.device}, {torch.get_num_threads()} thread(s), torch "
          f"{torch.__version__}; load average {before} before, {load_average()} after {time.perf_counter() - start:.0f} s")
    print(f"{'implementation':52s} {'plain':>9s} {'update':>9s} {'amortised':>10s} {'ratio':>7s} {'cpu':>9s} "
          f"{'first':>9s} {'n':>3s}" + (f" {'loss':>8s} {'grads':>8s} {'optim':>8s}" if args.breakdown else ""))
    base = variants[0].summary(args.gn_frequency)["amortised"]
    for v in variants:
        r = v.summary(args.gn_frequency)
        line = (f"{v.label:52s} {r['plain']:9.1f} {r['update']:9.1f} {r['amortised']:10.1f} "
                f"{r['amortised'] / base:7.3f} {r['cpu']:9.1f} {r['first']:9.0f} {r['samples']:3d}")
        if args.breakdown and v.step in (obvious_step, emulation_step):
            line += " " + " ".join(f"{p:8.1f}" for p in r["phases"])
        print(line)
    print("(ms per step, medians over rounds, each sample the mean of two steps; ratio = amortised ms/step relative "
          "to the straightforward step; cpu = process CPU ms of a plain step (1 thread: ≈ wall on an idle machine); "
          "first = the first step, compilation included; loss / grads / optim: mean ms of a plain step's phases)")


if __name__ == "__main__":
    main()
