"""Validation study "coupling_1d_paper_budget": the 1D coupling claim at the paper's own budget.

Claim (arXiv 2605.23391): over a 5–50× change of the coupling, the final-epoch error of
SOAP+GN degrades by ≤ 1.1×, that of Adam+GN by > 100×. method.md "Reference run" notes that
the claim concerns a 30,000-step budget: after 1500 steps the authors' own script gives 0.11
at ε_p = 0.2 and 1.50 at ε_p = 0.02. This script runs that budget on eofpinn's trainer:

    3 blocks (ψ, c₊, c₋) of 4 × 64 tanh, plain Xavier, output gain 1; the paper's layout
    (direct outputs, soft walls, K = 6 loss terms); 300 fixed interior points; lr 3e-4
    constant; 30,000 full-batch steps; GN every 1000 steps (from step 0), momentum 0.9;
    SOAP (betas 0.95, 0.95, preconditioner every 2 steps) and Adam (betas 0.95, 0.95, as in
    eofpinn's like-for-like baseline); ε = 0.2, 0.1, 0.05, 0.02; seeds 0 and 1; float32.

Every run checkpoints (checkpoint.pt, exact resume) every `--checkpoint-every` steps into
`--out`/<method>_eps<ε>_seed<s>/ with its history.csv; a finished run's result is kept in
`--out`/coupling_paper_budget.json. Rerunning the same command skips finished runs and resumes
interrupted ones exactly where their last checkpoint stopped. When every run has finished,
the section `coupling_1d_paper_budget` of validation/RESULTS.md is written.

Cost, measured 2026-12-01 on the 2-core CPU (one thread per run, three to six processes on the
two cores): 60–75 ms per SOAP step and 30–38 minutes per SOAP run of 30,000 steps, 14–28 minutes per Adam run; the full grid
(16 runs) is about 8–10 CPU-hours, its two ends (ε = 0.2 and 0.02, the degradation ratio) half
of that. Run so far: the two ends, SOAP+GN and Adam+GN, 2 seeds (validation/RESULTS.md). The commands:

    PYTHONPATH=. python validation/coupling_paper_budget.py --eps 0.2,0.02 --seeds 2 --workers 2
    PYTHONPATH=. python validation/coupling_paper_budget.py --workers 2        # all four ε

A tiny version (tests/validation/test_coupling_paper_budget.py, marked slow) checks that a
run interrupted after its first part resumes to the same history as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eofpinn import atomic  # noqa: E402
from eofpinn.pinn_runs import Checkpointer, HistoryFiles, load_checkpoint  # noqa: E402
from validation.npp1d import CouplingConfig, degradation_table, parse_method, train_configuration  # noqa: E402
from validation.results_page import error_cell, markdown_table, write_section  # noqa: E402

EPSILONS = (0.2, 0.1, 0.05, 0.02)
METHODS = ("SOAP+GN", "Adam+GN")
PAPER = dict(width=64, depth=4, n_interior=300, lr=3e-4, update_every=1000, momentum=0.9, formulation="paper")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--eps", default=",".join(f"{e:g}" for e in EPSILONS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--width", type=int, default=PAPER["width"])
    parser.add_argument("--depth", type=int, default=PAPER["depth"])
    parser.add_argument("--points", type=int, default=PAPER["n_interior"])
    parser.add_argument("--update-every", type=int, default=PAPER["update_every"])
    parser.add_argument("--log-every", type=int, default=500, help="history rows (errors, diagnostics)")
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="parallel runs (1 torch thread each)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "coupling_paper_budget"))
    parser.add_argument("--no-results-page", action="store_true")
    return parser.parse_args(argv)


def plan(args: argparse.Namespace) -> list[CouplingConfig]:
    configs = []
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        optimizer, weighting = parse_method(method)
        for eps in sorted((float(e) for e in args.eps.split(",")), reverse=True):
            for seed in range(args.seeds):
                configs.append(CouplingConfig(
                    debye_ratio=eps, optimizer=optimizer, weighting=weighting, formulation=PAPER["formulation"],
                    seed=seed, steps=args.steps, width=args.width, depth=args.depth, n_interior=args.points,
                    lr=PAPER["lr"], update_every=args.update_every, momentum=PAPER["momentum"],
                    log_every=args.log_every))
    return configs


def run_key(config: CouplingConfig) -> str:
    return f"{config.optimizer}-{config.weighting}_eps{config.debye_ratio:g}_seed{config.seed}"


def run_one(job: tuple[CouplingConfig, str, int]) -> dict:
    """Train (or resume) one configuration with checkpoints in its own folder."""
    config, folder, checkpoint_every = job
    torch.set_num_threads(1)
    folder = Path(folder)
    resume = load_checkpoint(folder) if (folder / "checkpoint.pt").exists() else None
    observers = [CheckpointEvery(folder, checkpoint_every), HistoryFiles(folder, run_key(config))]
    result = train_configuration(config, observers, resume)
    result["key"] = run_key(config)
    result["resumed_from"] = resume["step"] if resume is not None else 0
    result.pop("history", None)  # history.csv in the run's folder holds it
    return result


class CheckpointEvery(Checkpointer):
    """checkpoint.pt every `every` steps and at the end (CouplingConfig's own settings never
    checkpoint)."""

    def __init__(self, out_dir: Path, every: int):
        super().__init__(out_dir)
        self._every = every

    def started(self, trainer) -> None:
        super().started(trainer)
        self.every = self._every


def summary_rows(results: list[dict]) -> list[dict]:
    rows = []
    for row in degradation_table(results, "final_error"):
        out = {"method": row["method"]}
        out.update({f"ε={eps:g}": error_cell(err) for eps, err in row["errors"].items()})
        out["ratio (final)"] = f"{row['ratio']:.2f}×" if math.isfinite(row["ratio"]) else "n/a"
        out["paper"] = row["paper"] or "—"
        rows.append(out)
    return rows


def cost_line(results: list[dict], workers: int) -> str:
    """The CPU cost of the runs: per method the training time per run and per step."""
    parts = []
    for method in dict.fromkeys(r["method"] for r in results):
        mine = [r for r in results if r["method"] == method]
        minutes = [r["seconds"] / 60 for r in mine]
        steps = [r["ms_per_step"] for r in mine]
        parts.append(f"{method} {min(minutes):.0f}–{max(minutes):.0f} min per run ({min(steps):.0f}–{max(steps):.0f} ms/step)")
    total = sum(r["seconds"] for r in results) / 3600
    return (f"Cost: {'; '.join(parts)}; {total:.1f} CPU-hours of training in all, one torch thread per run, "
            f"{workers} run(s) at a time on the machine named above (its other load is not recorded here).")


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = out / "coupling_paper_budget.json"
    done = json.loads(store.read_text())["results"] if store.exists() else {}
    configs = plan(args)
    todo = [(c, str(out / run_key(c)), args.checkpoint_every) for c in configs
            if run_key(c) not in done or done[run_key(c)]["config"]["steps"] != c.steps]
    print(f"{len(todo)} of {len(configs)} runs to train or resume, {args.workers} worker(s)", flush=True)
    start = time.perf_counter()
    with get_context("spawn").Pool(args.workers) as pool:
        for result in pool.imap_unordered(run_one, todo):
            key = result["key"]
            done[key] = result
            atomic.write_text(store, json.dumps({"args": vars(args), "results": done}))
            print(f"[{time.perf_counter() - start:7.0f} s] {key}: final {error_cell(result['final_error'])} "
                  f"(resumed from step {result['resumed_from']})", flush=True)
    results = [done[run_key(c)] for c in configs if run_key(c) in done]
    rows = summary_rows(results)
    print("\n" + markdown_table(rows, list(rows[0].keys())))
    if not args.no_results_page and len(results) == len(configs):
        body = (f"The 1D coupling claim at the paper's budget: {args.steps} steps, 3 blocks of {args.depth}×{args.width}, "
                f"{args.points} points, lr 3e-4, GN every {args.update_every} steps (momentum 0.9), the paper's layout, "
                f"{args.seeds} seed(s) (geometric mean). Ratio = error at ε_min ÷ error at ε_max.\n\n"
                + markdown_table(rows, list(rows[0].keys())) + "\n\n" + cost_line(results, args.workers))
        command = "PYTHONPATH=. python validation/coupling_paper_budget.py " + " ".join(
            argv if argv is not None else sys.argv[1:])
        write_section("coupling_1d_paper_budget", command.strip(), body)
    return results


if __name__ == "__main__":
    main()
