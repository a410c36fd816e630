"""`eofpinn sweep`: a grid of PINN runs over parameters, optimisers, weightings and seeds.

Each run is an ordinary `eofpinn solve` in its own directory (`<out>/<run name>/`), started as a
local process; `jobs` of them run at once (default: one per GPU, else one per two CPU cores,
each with cores/jobs torch threads). A sweep is resumable: a run whose summary.json exists is
skipped, and one that left a checkpoint is resumed from it. The table gives, per run, the final,
best-loss and best-ever mean relative L2 (paper metric), and per method (optimizer+weighting)
the degradation ratio: error at the strongest coupling (smallest ε) ÷ error at the weakest.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eofpinn.cases import OVERRIDABLE, check_override
from eofpinn.errors import EofpinnError


@dataclass(frozen=True)
class RunSpec:
    parameter: str
    value: float
    optimizer: str
    weighting: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.parameter}={self.value:g}_{self.optimizer}_{self.weighting}_seed{self.seed}"

    @property
    def method(self) -> str:
        return f"{self.optimizer}+{self.weighting}"


def parse_param(text: str) -> tuple[str, list[float]]:
    """'debye_ratio=0.2,0.1' → ('debye_ratio', [0.2, 0.1]), each value within the case-file range."""
    name, sep, values = text.partition("=")
    if not sep or name not in OVERRIDABLE:
        raise EofpinnError(f"--param {text!r}: expected NAME=V1,V2,... with NAME one of {', '.join(OVERRIDABLE)}")
    try:
        numbers = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise EofpinnError(f"--param {text!r}: values must be numbers") from None
    if not numbers:
        raise EofpinnError(f"--param {text!r}: no values; expected NAME=V1,V2,..., e.g. {name}=0.2,0.1")
    return name, [check_override(name, v, "--param") for v in numbers]


def expand(parameter: str, values: list[float], optimizers: list[str], weightings: list[str], seeds: int) -> list[RunSpec]:
    """Every combination; seeds 0 … seeds − 1."""
    if seeds < 1:
        raise EofpinnError(f"--seeds {seeds}: must be at least 1 (the runs use seeds 0 … N−1)")
    return [RunSpec(parameter, v, o, w, s)
            for v, o, w, s in itertools.product(values, optimizers, weightings, range(seeds))]


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def default_jobs() -> int:
    """One run per GPU, else one per two CPU cores."""
    return _gpu_count() or max(1, (os.cpu_count() or 2) // 2)


def run_command(case: str, spec: RunSpec, run_dir: Path, steps: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "eofpinn.cli", "solve", case, "--solver", "pinn", "--out", str(run_dir),
           "--set", f"{spec.parameter}={spec.value!r}", "--optimizer", spec.optimizer,
           "--weighting", spec.weighting, "--seed", str(spec.seed)]
    if steps is not None:
        cmd += ["--steps", str(steps)]
    if (run_dir / "checkpoint.pt").is_file():
        cmd += ["--resume", str(run_dir)]
    return cmd


def _launch(case: str, spec: RunSpec, out_dir: Path, steps: int | None, threads: int, slot: int) -> dict:
    run_dir = out_dir / spec.name
    if (run_dir / "summary.json").is_file():
        return {"run": spec.name, "status": "skipped (finished)"}
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if _gpu_count() > 1 and "CUDA_VISIBLE_DEVICES" not in os.environ:
        env["CUDA_VISIBLE_DEVICES"] = str(slot)  # one run per GPU
    start = time.perf_counter()
    log = out_dir / f"{spec.name}.log"
    with open(log, "w") as handle:
        code = subprocess.call(run_command(case, spec, run_dir, steps), stdout=handle, stderr=subprocess.STDOUT, env=env)
    return {"run": spec.name, "status": "ok" if code == 0 else f"failed (exit {code}, see {log.name})",
            "seconds": time.perf_counter() - start}


def run_sweep(case: str, specs: list[RunSpec], out_dir: Path, steps: int | None = None, jobs: int | None = None,
              report=print) -> list[dict]:
    """Run every spec not yet finished; returns one status dict per run."""
    if jobs is not None and jobs < 1:
        raise EofpinnError(f"--jobs {jobs}: must be at least 1 (leave it out for one per GPU or per two cores)")
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = jobs or default_jobs()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_launch, case, spec, out_dir, steps, threads, i % jobs) for i, spec in enumerate(specs)]
        statuses = []
        for i, future in enumerate(futures, 1):
            status = future.result()
            report(f"[{i}/{len(specs)}] {status['run']}: {status['status']}")
            statuses.append(status)
    return statuses


def read_history(run_dir: Path) -> list[dict[str, float]]:
    """A run's history.csv as rows of floats ([] when there is none)."""
    path = run_dir / "history.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]


def _mean_of(history: list[dict[str, float]], column: str) -> float:
    values = [row[column] for row in history if math.isfinite(row.get(column, math.nan))]
    return float(np.mean(values)) if values else math.nan


def _diverged(spec: RunSpec, out_dir: Path) -> bool:
    log = out_dir / f"{spec.name}.log"
    return log.is_file() and "PINN training diverged" in log.read_text(errors="replace")


def collect(specs: list[RunSpec], out_dir: Path) -> list[dict]:
    """One row per finished or diverged run: final, best-loss and best-ever paper-mean errors,
    and the run's mean gradient alignment score and mean most-conflicting cosine (history.csv).

    A diverged run (its log holds the NaN stop) keeps the best error it logged; its final and
    best-loss errors are infinite, so it makes its method's degradation ratio infinite. Runs
    that failed otherwise, or were never started, are left out.
    """
    rows = []
    for spec in specs:
        run_dir = out_dir / spec.name
        path = run_dir / "summary.json"
        history = read_history(run_dir)
        if path.is_file():
            info = json.loads(path.read_text()).get("info", {})
            status = "finished"
            final = (info.get("final_errors") or {}).get("mean", math.nan)
            best_loss = (info.get("best_loss_errors") or {}).get("mean", math.nan)
            best_ever = (info.get("best_errors") or {}).get("mean", math.nan)
            ms_per_step = info.get("ms_per_step", math.nan)
        elif _diverged(spec, out_dir):
            status = f"diverged (last finite log at step {int(history[-1]['step'])})" if history else "diverged"
            final = best_loss = math.inf
            errors = [row["err_mean"] for row in history if math.isfinite(row.get("err_mean", math.nan))]
            best_ever = min(errors) if errors else math.inf
            ms_per_step = _mean_of(history, "ms_per_step")
        else:
            continue
        rows.append({
            "run": spec.name, "method": spec.method, "parameter": spec.parameter, "value": spec.value,
            "seed": spec.seed, "status": status, "final": final, "best_loss": best_loss, "best_ever": best_ever,
            "ms_per_step": ms_per_step, "grad_alignment": _mean_of(history, "grad_alignment"),
            "cos_min": _mean_of(history, "cos_min"),
        })
    return rows


def mean_errors(rows: list[dict], method: str, metric: str = "final") -> dict[float, float]:
    """Mean `metric` over seeds per parameter value of one method, weakest coupling first
    (largest ε for debye_ratio, else smallest value)."""
    by_value: dict[float, list[float]] = {}
    for r in rows:
        if r["method"] == method:
            by_value.setdefault(r["value"], []).append(r[metric])
    weak_first = sorted(by_value, reverse=bool(rows) and rows[0]["parameter"] == "debye_ratio")
    return {value: float(np.mean(by_value[value])) for value in weak_first}


def degradation(rows: list[dict], metric: str = "final") -> dict[str, float]:
    """Per method: mean error (over seeds) at the strongest coupling ÷ at the weakest.

    For debye_ratio the strongest coupling is the smallest ε (coupling ∝ 1/ε²); for any other
    parameter the largest value counts as strongest. A diverged run (infinite error) at the
    strongest coupling makes the ratio infinite.
    """
    out = {}
    for method in sorted({r["method"] for r in rows}):
        errors = list(mean_errors(rows, method, metric).values())
        if len(errors) >= 2:
            out[method] = errors[-1] / errors[0] if math.isfinite(errors[0]) else math.nan
    return out


def format_table(rows: list[dict]) -> str:
    lines = [f"{'run':<48}{'final':>11}{'best-loss':>11}{'best-ever':>11}{'ms/step':>9}{'align':>7}"]
    for r in rows:
        final, best_loss = (f"{r[k]:>11.3e}" if math.isfinite(r[k]) else f"{'diverged':>11}" for k in ("final", "best_loss"))
        lines.append(f"{r['run']:<48}{final}{best_loss}{r['best_ever']:>11.3e}{r['ms_per_step']:>9.1f}"
                     f"{r.get('grad_alignment', math.nan):>+7.2f}")
    ratios = degradation(rows)
    if ratios:
        lines.append("degradation ratio (strong ÷ weak coupling, final error, mean over seeds):")
        lines += [f"  {m:<20}{v:>10.3g}×" for m, v in ratios.items()]
    return "\n".join(lines)


def write_collection(rows: list[dict], out_dir: Path) -> Path:
    """sweep.pvd: every finished run's fields.vts as one ParaView collection (index = row)."""
    from eofpinn.render import write_pvd

    done = [r for r in rows if r.get("status", "finished") == "finished"]
    entries = [(i, Path(r["run"]) / "fields.vts") for i, r in enumerate(done)]
    return write_pvd(entries, out_dir / "sweep.pvd", names=[r["run"] for r in done])
