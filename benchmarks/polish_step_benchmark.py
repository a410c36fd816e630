"""Cost of one evaluation of a block polish's objective: frozen blocks held, or formed afresh.

A [pinn.polish] phase with `blocks = "flow"` (the 2D recipe's) or `"ions"` moves one part of the
model on fixed points while the other part stays where the main phase left it. Since the points
and the frozen blocks no longer change, the frozen blocks' Taylor jets are the same at every
evaluation: the trainer forms them once (`FieldNetworks.hold`) instead of at every evaluation.
L-BFGS's cost is a number of such evaluations (loss and gradient; its strong-Wolfe line search
makes one or more per step), so this benchmark times one evaluation both ways, interleaved (one
round = one timed evaluation of each, in turn, at the same parameters), and prints the medians
and their ratio, with the load average.

Set-up: the case's own settings (`cases/zeta_step.toml`: the 2D recipe, 1100 interior points,
4 blocks of 4 × 64, float64 polish), taken into the polish phase after two main-phase steps.

    python benchmarks/polish_step_benchmark.py [--case cases/zeta_step.toml] [--blocks flow]
        [--rounds 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: eofpinn

from eofpinn.cases import load_case  # noqa: E402
from eofpinn.cases.pinn_settings import replace  # noqa: E402
from eofpinn.solvers.pinn.channel import ChannelTask  # noqa: E402
from eofpinn.solvers.pinn.trainer import Trainer  # noqa: E402


def polishing_trainer(case_file: Path, blocks: str) -> Trainer:
    """A trainer of the case that has just entered a `blocks` polish (float64)."""
    case = load_case(case_file)
    settings = replace(case.pinn, {"steps": 12, "polish.steps": 10, "polish.dtype": "float64",
                                   "polish.blocks": blocks})
    trainer = Trainer(ChannelTask(dataclasses.replace(case, pinn=settings), settings), settings)
    for _ in range(3):  # two main-phase steps, then the first polish step (which holds the frozen blocks)
        trainer.train_step()
    assert trainer.polishing
    return trainer


def evaluation_seconds(trainer: Trainer) -> float:
    """One evaluation of the polish's objective and its gradient, as L-BFGS's closure makes it."""
    weights = trainer.weights * trainer.polish_mask
    start = time.perf_counter()
    trainer.optimizer.zero_grad(set_to_none=True)
    (weights * trainer._terms(trainer.points)).sum().backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=Path, default=Path(__file__).resolve().parents[1] / "cases" / "zeta_step.toml")
    parser.add_argument("--blocks", default="flow", choices=("flow", "ions"))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    trainer = polishing_trainer(args.case, args.blocks)
    networks = trainer.model.networks
    held = tuple(sorted(networks.held))
    times: dict[str, list[float]] = {"held": [], "afresh": []}
    for _ in range(args.rounds):
        networks.hold(held)
        evaluation_seconds(trainer)  # forms the held jets once, as the phase's first evaluation does
        times["held"].append(evaluation_seconds(trainer))
        networks.hold(())
        times["afresh"].append(evaluation_seconds(trainer))
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{args.case.name}: one evaluation of the {args.blocks} polish's objective and gradient, "
          f"{trainer.points.interior.shape[0]} interior points, float64, {torch.get_num_threads()} thread(s), "
          f"{args.rounds} interleaved rounds, load average {load}")
    print(f"held blocks: {', '.join(held)}")
    print("| frozen blocks | ms per evaluation (median) | min | ratio to afresh |")
    print("|---|---|---|---|")
    afresh = statistics.median(times["afresh"])
    for label, values in times.items():
        median = statistics.median(values)
        print(f"| {label} | {1e3 * median:.1f} | {1e3 * min(values):.1f} | {median / afresh:.2f} |")


if __name__ == "__main__":
    main()
