"""`eofpinn sweep`: a grid of PINN runs over parameters, optimisers, weightings and seeds.

Each run is an ordinary `eofpinn solve` in its own directory (`<out>/<run name>/`), started as a
local process; `jobs` of them run at once (default: one per GPU, else one per two CPU cores,
each with cores/jobs torch threads). A sweep is resumable: a run whose summary.json exists is
skipped, and one that left a checkpoint is resumed from it. The table gives, per run, the final,
best-loss and best-ever mean relative L2 (paper metric), and per method (optimizer+weighting)
the degradation ratio: error at the strongest coupling (smallest ε) ÷ error at the weakest.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eofpinn.cases import OVERRIDABLE
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
    """'debye_ratio=0.2,0.1' → ('debye_ratio', [0.2, 0.1])."""
    name, sep, values = text.partition("=")
    if not sep or name not in OVERRIDABLE:
        raise EofpinnError(f"--param {text!r}: expected NAME=V1,V2,... with NAME one of {', '.join(OVERRIDABLE)}")
    try:
        return name, [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise EofpinnError(f"--param {text!r}: values must be numbers") from None


def expand(parameter: str, values: list[float], optimizers: list[str], weightings: list[str], seeds: int) -> list[RunSpec]:
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


def collect(specs: list[RunSpec], out_dir: Path) -> list[dict]:
    """One row per finished run: final, best-loss and best-ever paper-mean errors."""
    rows = []
    for spec in specs:
        path = out_dir / spec.name / "summary.json"
        if not path.is_file():
            continue
        info = json.loads(path.read_text()).get("info", {})
        rows.append({
            "run": spec.name, "method": spec.method, "parameter": spec.parameter, "value": spec.value,
            "seed": spec.seed,
            "final": (info.get("final_errors") or {}).get("mean", float("nan")),
            "best_loss": (info.get("best_loss_errors") or {}).get("mean", float("nan")),
            "best_ever": (info.get("best_errors") or {}).get("mean", float("nan")),
            "ms_per_step": info.get("ms_per_step", float("nan")),
        })
    return rows


def degradation(rows: list[dict], metric: str = "final") -> dict[str, float]:
    """Per method: mean error (over seeds) at the strongest coupling ÷ at the weakest.

    For debye_ratio the strongest coupling is the smallest ε (coupling ∝ 1/ε²); for any other
    parameter the largest value counts as strongest.
    """
    out = {}
    for method in sorted({r["method"] for r in rows}):
        by_value: dict[float, list[float]] = {}
        for r in rows:
            if r["method"] == method:
                by_value.setdefault(r["value"], []).append(r[metric])
        if len(by_value) < 2:
            continue
        values = sorted(by_value)
        strong, weak = (values[0], values[-1]) if rows[0]["parameter"] == "debye_ratio" else (values[-1], values[0])
        out[method] = float(np.mean(by_value[strong]) / np.mean(by_value[weak]))
    return out


def format_table(rows: list[dict]) -> str:
    lines = [f"{'run':<48}{'final':>11}{'best-loss':>11}{'best-ever':>11}{'ms/step':>9}"]
    for r in rows:
        lines.append(f"{r['run']:<48}{r['final']:>11.3e}{r['best_loss']:>11.3e}{r['best_ever']:>11.3e}{r['ms_per_step']:>9.1f}")
    ratios = degradation(rows)
    if ratios:
        lines.append("degradation ratio (strong ÷ weak coupling, final error, mean over seeds):")
        lines += [f"  {m:<20}{v:>10.3g}×" for m, v in ratios.items()]
    return "\n".join(lines)


def write_collection(rows: list[dict], out_dir: Path) -> Path:
    """sweep.pvd: every finished run's fields.vts as one ParaView collection (index = row)."""
    from eofpinn.render import write_pvd

    entries = [(i, Path(r["run"]) / "fields.vts") for i, r in enumerate(rows)]
    return write_pvd(entries, out_dir / "sweep.pvd", names=[r["run"] for r in rows])
