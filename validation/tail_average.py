"""Study "tail_average": the last iterate against the mean of the last iterates, on one trajectory.

Trains a case's PINN once with its own [pinn] settings but without tail averaging
(optimizer.average_last = 0) and keeps, alongside, the running mean of the parameters from each
step given in --from on (the same running mean as [pinn.optimizer] average_last). Every 100
steps (at steps 50, 150, …) and at the end it measures the last iterate and each running mean
against the reference, so "last" and "mean" come from one trajectory and differ only in what is
reported. Prints the final table and writes tail_average.json (every row) under --out.

    python validation/tail_average.py patterned_zeta --steps 5000 --from 3500,4000,4500 \
        --reference FD_RUN_DIR [--seed 0] [--threads 1]
    python validation/tail_average.py quickstart --steps 1500 --from 1050,1200,1350
    python validation/tail_average.py straight:0.02:4 --steps 1500 --from 1350
        (a straight channel ε = 0.02, ζ̂ = 4, Ê = 1 with the quick-start case's [pinn] settings)

Errors: relative L2 per field as the history measures them (eofpinn.solvers.pinn.evaluation),
against the exact solution of a straight channel or the --reference run (e.g. an FD run of the
same case: `eofpinn solve CASE --solver fd --out FD_RUN_DIR`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: eofpinn

from eofpinn import io  # noqa: E402
from eofpinn.cases import case_from_problem, load_case, straight_problem  # noqa: E402
from eofpinn.cases.pinn_settings import replace  # noqa: E402
from eofpinn.solvers.pinn.channel import solve_pinn  # noqa: E402
from eofpinn.solvers.pinn.trainer import Observer, add_to_mean  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIELDS = ("psi", "c_plus", "c_minus", "u", "v", "p", "mean")


def load(name: str):
    """A shipped case by name, or `straight:ε:ζ̂` with the quick-start case's [pinn] settings."""
    if name.startswith("straight:"):
        _, eps, zeta = name.split(":")
        return dataclasses.replace(case_from_problem(straight_problem(float(eps), float(zeta), 1.0)),
                                   pinn=load_case(REPO / "cases" / "quickstart.toml").pinn)
    return load_case(REPO / "cases" / f"{name}.toml")


class RunningMeans(Observer):
    """The running mean of the parameters from each start step on, measured every 100 steps."""

    def __init__(self, starts: list[int]):
        self.starts = starts
        self.means: dict[int, list[torch.Tensor]] = {}
        self.counts = {s: 0 for s in starts}
        self.rows: list[dict] = []
        self.final: dict = {}

    def due(self, step: int) -> bool:
        return True

    @torch.no_grad()
    def at_step(self, trainer) -> None:
        for start in self.starts:
            if trainer.step > start:  # θ_step after the steps start+1, …, as average_last counts
                self.counts[start] += 1
                if start not in self.means:
                    self.means[start] = [p.detach().clone() for p in trainer.params]
                else:
                    add_to_mean(self.means[start], trainer.params, self.counts[start])
        if trainer.step % 100 == 50 and self.means:
            self.rows.append({"step": trainer.step, **self.measure(trainer)})

    @torch.no_grad()
    def measure(self, trainer) -> dict:
        out = {"last": trainer.errors()}
        saved = [p.detach().clone() for p in trainer.params]
        for start, mean in self.means.items():
            for p, m in zip(trainer.params, mean):
                p.copy_(m)
            out[f"mean from {start}"] = trainer.errors()
        for p, s in zip(trainer.params, saved):
            p.copy_(s)
        return out

    def finished(self, trainer) -> None:
        self.at_step(trainer)  # θ_steps, the last iterate, joins every mean
        self.final = self.measure(trainer)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--from", dest="starts", required=True, help="comma-separated start steps of the means")
    parser.add_argument("--reference", default=None, help="a run directory to measure against (e.g. FD)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "validation" / "out" / "tail_average"))
    args = parser.parse_args(argv)
    case = load(args.case)
    reference = io.read_run(Path(args.reference)) if args.reference else None
    settings = replace(case.pinn, {"steps": args.steps, "seed": args.seed, "threads": args.threads,
                                   "optimizer.average_last": 0.0, "polish.steps": 0})
    observer = RunningMeans(sorted(int(s) for s in args.starts.split(",")))
    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    solve_pinn(case, settings, reference, [observer])
    result = {"case": args.case, "steps": args.steps, "seed": args.seed, "wall_s": time.perf_counter() - start,
              "final": observer.final, "rows": observer.rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"{args.case.replace(':', '_')}_steps{args.steps}_seed{args.seed}.json"
    (out / name).write_text(json.dumps(result, indent=1))
    print("| iterate | " + " | ".join(FIELDS) + " |\n|---|" + "---|" * len(FIELDS))
    for label, errors in observer.final.items():
        print(f"| {label} | " + " | ".join(f"{errors[f]:.1e}" if f in errors else "—" for f in FIELDS) + " |")
    print(f"wrote {out / name} ({result['wall_s']:.0f} s)")
    return result


if __name__ == "__main__":
    main()
