"""Time per training step of SOAP+GN: eofpinn's step against the straightforward one.

"Straightforward" is the reference paper's script (arXiv 2605.23391): residual derivatives by
nested autograd, and one backward pass per loss term on *every* step, the per-term gradients
summed with the GN weights. eofpinn's step forms the per-term gradients only on a GN update
step (every F steps) and otherwise runs one backward pass of the weighted sum; its residual
derivatives come from Taylor-mode propagation. A middle row (autograd derivatives, one
backward) separates the two savings.

Set-up: the paper's case (ε = 0.1414, ζ̂ = 1, Ê = 1, paper model, Boltzmann walls, reservoir
ends), S = 4 blocks of 5 × 128 tanh, 3000 interior points, 200 per wall and end, float32,
SOAP (precondition frequency 2, the paper's). Each row: median ms of a plain step and of a GN
update step; amortised ms/step = plain + (update − plain)/F. Usage:

    python benchmarks/pinn_step_benchmark.py [--steps 10] [--gn-frequency 1000] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from eofpinn.cases import case_from_problem, straight_problem
from eofpinn.cases.model import PINNSettings
from eofpinn.cases.pinn_settings import replace
from eofpinn.solvers.pinn import ChannelTask
from eofpinn.solvers.pinn.conflict import per_term_gradients
from eofpinn.solvers.pinn.trainer import Trainer

PAPER_NETWORK = {"network.width": 128, "network.depth": 5, "points.n_interior": 3000, "points.n_boundary": 200,
                 "dtype": "float32", "optimizer.name": "soap", "balancing.name": "gn",
                 "optimizer.precondition_frequency": 2, "optimizer.learning_rate": 3e-4}


def paper_problem():
    return straight_problem(0.1414, 1.0, 1.0, ends="reservoir", ion_wall="boltzmann", equations="paper")


def straightforward_step(trainer: Trainer) -> None:
    """One backward pass per loss term, every step (weights refreshed on the GN schedule)."""
    terms = trainer.terms_fn(trainer.points)
    grads = per_term_gradients(list(terms), trainer.params)
    wanted = trainer.balancer.needs_gradients(trainer.balance, trainer.step)
    weights, trainer.balance = trainer.balancer.update(trainer.balance, trainer.step, terms.detach(),
                                                       grads if wanted else None)
    trainer.set_weighted_gradient(grads, weights)
    trainer.optimizer.step()
    trainer.step += 1


def _timed(step, trainer: Trainer) -> float:
    """ms of one call of step(trainer)."""
    start = time.perf_counter()
    step(trainer)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    return 1e3 * (time.perf_counter() - start)


def measure(settings: PINNSettings, derivatives: str, straightforward: bool, n: int) -> dict:
    """Plain-step, update-step and amortised ms/step of one implementation (median of n)."""
    trainer = Trainer(ChannelTask(case_from_problem(paper_problem(), pinn=settings), settings), settings)
    trainer.model.derivatives = derivatives
    step = straightforward_step if straightforward else Trainer.train_step
    _timed(step, trainer)  # warm-up, also SOAP's first (eigh) step
    plain, update = [], []
    for _ in range(n):
        trainer.step = 1  # GN updates fall on steps ≡ 0 (mod F), counted from 0
        plain.append(_timed(step, trainer))
    for _ in range(max(2, n // 5)):
        trainer.step = 0
        update.append(_timed(step, trainer))
    plain_ms, update_ms = statistics.median(plain), statistics.median(update)
    every = trainer.balancer.options.every
    return {"plain": plain_ms, "update": update_ms, "amortised": plain_ms + (update_ms - plain_ms) / every,
            "parameters": trainer.model.networks.parameter_count, "terms": len(trainer.term_names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per implementation")
    parser.add_argument("--gn-frequency", type=int, default=1000, help="F, steps between GN updates (paper: 1000)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = replace(PINNSettings(), {**PAPER_NETWORK, "device": args.device, "balancing.every": args.gn_frequency})
    rows = [
        ("straightforward: autograd, one backward per term every step", "autograd", True),
        ("eofpinn, autograd derivatives, one backward + GN every F", "autograd", False),
        ("eofpinn: Taylor mode, one backward + GN every F", "taylor", False),
    ]
    results = [(label, measure(settings, derivatives, straightforward, args.steps))
               for label, derivatives, straightforward in rows]
    first = results[0][1]
    print(f"paper case, 4 blocks of 5 x 128 tanh ({first['parameters']} parameters), 3000 interior + 200 per "
          f"wall/end points, {first['terms']} loss terms, float32, SOAP (precondition frequency 2), "
          f"GN every F = {args.gn_frequency}, device {args.device}, {torch.get_num_threads()} thread(s)")
    print(f"{'implementation':62s} {'plain':>9s} {'update':>9s} {'amortised':>10s} {'ratio':>7s}")
    base = results[0][1]["amortised"]
    for label, r in results:
        print(f"{label:62s} {r['plain']:9.1f} {r['update']:9.1f} {r['amortised']:10.1f} {r['amortised'] / base:7.3f}")
    print("(ms per step; ratio = amortised ms/step relative to the straightforward implementation)")


if __name__ == "__main__":
    main()
