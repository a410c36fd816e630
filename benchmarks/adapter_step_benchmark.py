"""Parameters and time per training step with per-loss adapters (eofpinn/solvers/pinn/adapters.py).

Variants, all on the same case and settings (default: cases/quickstart.toml's [pinn], SOAP+GN,
K = 10 loss terms), timed side by side: the variants take turns, `--steps` steps each per
round, over `--rounds` rounds; the table gives the median ms per step over the rounds.

    none            no adapters (one backward pass of Σ λ_i ∇L_i per step)
    unrouted        adapters trained with the weighted-sum gradient (one backward pass)
    routed          routed adapters: K per-term gradients per step, one batched backward
                    (autograd.grad(..., is_grads_batched=True)) — what the solver does
    routed-loop     the same gradients from K ordinary backward passes (for comparison)

The GN update and the diagnostics rows are excluded (balancing every > steps, no logging), so
the numbers are those of an ordinary step. Usage:

    python benchmarks/adapter_step_benchmark.py [--case cases/quickstart.toml] [--rounds 5] [--steps 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from eofpinn.cases import load_case
from eofpinn.cases.pinn_settings import replace
from eofpinn.solvers.pinn import ChannelTask
from eofpinn.solvers.pinn.adapters import adapter_parameter_count
from eofpinn.solvers.pinn.conflict import per_term_gradients
from eofpinn.solvers.pinn.trainer import Trainer

VARIANTS = {
    "none": {"network.adapters": "none"},
    "unrouted": {"network.adapters": "per_loss", "network.adapter_routing": "unrouted"},
    "routed": {"network.adapters": "per_loss", "network.adapter_routing": "routed"},
    "routed-loop": {"network.adapters": "per_loss", "network.adapter_routing": "routed"},
}


def loop_gradients(routing):
    """Routing.gradients from K ordinary backward passes instead of one batched one."""

    def gradients(terms, params):
        grads = per_term_gradients(list(terms), params)
        out = []
        for k, g in enumerate(grads):
            parts, offset = [], 0
            for p in params:
                piece = g[offset:offset + p.numel()]
                owner = routing.owner.get(id(p))
                parts.append(piece if owner is None or owner == k else torch.zeros_like(piece))
                offset += p.numel()
            out.append(torch.cat(parts))
        return out

    return gradients


def build(case, name: str, base: dict) -> Trainer:
    settings = replace(case.pinn, {**base, **VARIANTS[name]})
    trainer = Trainer(ChannelTask(case, settings), settings)
    if name == "routed-loop":
        trainer.routing.gradients = loop_gradients(trainer.routing)
    return trainer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="cases/quickstart.toml")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="steps per variant per round")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    case = load_case(args.case)
    base = {"device": "cpu", "balancing.every": 10**6, "records.conflict_diagnostics": False}
    names = args.variants.split(",")
    trainers = {name: build(case, name, base) for name in names}
    for trainer in trainers.values():
        trainer.train_step()  # step 0: the GN update and SOAP's first eigendecompositions
        trainer.train_step()
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.rounds):
        for name, trainer in trainers.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                trainer.train_step()
            times[name].append(1e3 * (time.perf_counter() - start) / args.steps)
    load = os.getloadavg()
    reference = statistics.median(times[names[0]])
    print(f"{args.case}: K = {len(trainers[names[0]].term_names)} loss terms, {args.rounds} rounds × {args.steps} "
          f"steps, {args.threads} thread(s), load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'variant':<12} {'parameters':>10} {'adapters':>9} {'ms/step (median)':>17} {'ratio':>6}  all rounds")
    for name, trainer in trainers.items():
        total = sum(p.numel() for p in trainer.params)
        median = statistics.median(times[name])
        print(f"{name:<12} {total:>10} {adapter_parameter_count(trainer.model):>9} {median:>17.1f} "
              f"{median / reference:>6.2f}  " + " ".join(f"{t:.0f}" for t in times[name]))


if __name__ == "__main__":
    main()
