"""Benchmark of `eofpinn sweep` on dask.distributed against solving the same runs directly.

One invocation measures, side by side on the same machine and load:

1. direct: 16 FD runs of cases/straight_channel.toml (4 concentrations × 4 heights, the case's
   grid unless --nx/--ny) solved and written in this process one after the other
   (eofpinn.solve + io.write_run), after one untimed solve that pays the imports: their sum S;
2. sweep: the same 16 runs as a study on a fresh LocalCluster of --workers processes
   (eofpinn.studies.run_study): T from submitting the runs to the last result (each worker's
   first run pays its imports, torch among them: the FD solver loads it), then the sweep's
   own files (csv, json, pvd, plots); target T ≤ 1.2 × S / workers. Beside it, the machine's
   own parallelism: the first runs in as many plain processes at once, against one after the
   other (on a shared machine whose other jobs keep the cores busy this is well below 2);
3. per-task overhead: --cli-runs of those runs as `eofpinn solve` processes (each pays Python's
   start, the imports and the run's figures) against the same runs as a sweep on one worker
   (T / runs, its first run's imports included), and, inside that sweep, the time of each run's
   task after the first against the same run solved directly, and the time between tasks.

    python benchmarks/sweep_benchmark.py [--nx N --ny N] [--workers 2] [--cli-runs 4] [--out benchmarks/out]

Prints the table and writes sweep_benchmark.md and .json to --out, with the machine's load
average before and after: on a shared machine the timings move with what else runs, and two
workers only run twice as fast when two cores are free.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eofpinn import api, io  # noqa: E402
from eofpinn.studies import plan_study, run_study  # noqa: E402
from eofpinn.studies.cluster import connect  # noqa: E402

CASE = str(ROOT / "cases" / "straight_channel.toml")
AXES = ["electrolyte.concentration=1mM,3mM,10mM,30mM", "channel.height=20nm,30nm,45nm,60nm"]


def load() -> float:
    return round(os.getloadavg()[0], 2)


def direct_runs(study, folder: Path) -> dict[str, float]:
    """Each run solved and written in this process, one after the other: seconds per run."""
    times = {}
    for spec in study.runs:
        tic = time.perf_counter()
        solution = api.solve(spec.load(), "fd", **spec.options)
        io.write_run(solution, folder / spec.name)
        times[spec.name] = time.perf_counter() - tic
    return times


def _solve_and_write(spec, folder: str) -> None:
    solution = api.solve(spec.load(), "fd", **spec.options)
    io.write_run(solution, Path(folder) / spec.name)


def plain_processes(specs, folder: Path) -> float:
    """The machine's own parallelism: these runs in as many plain processes at once (spawned
    and warmed up first, as the sweep's workers are), wall seconds from start to the last."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(len(specs), initializer=_warm_up) as pool:
        pool.map(time.sleep, [0.1] * len(specs))  # every process started and warmed up
        tic = time.perf_counter()
        pool.starmap(_solve_and_write, [(spec, str(folder)) for spec in specs])
        return time.perf_counter() - tic


def _warm_up() -> None:
    os.environ.update({name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
    from eofpinn.cases import load_case

    api.solve(load_case(CASE), "fd", nx=9, ny=24)


def cli_runs(specs, folder: Path) -> dict[str, float]:
    """Each run as its own `eofpinn solve` process: wall seconds per run."""
    times = {}
    for spec in specs:
        command = [sys.executable, "-m", "eofpinn.cli", "solve", CASE, "--solver", "fd",
                   "--out", str(folder / spec.name)]
        for name, value in spec.options.items():
            command += [f"--{name}", str(value)]
        for key, value in spec.overrides.items():
            command += ["--set", f"{key}={value}"]
        tic = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times[spec.name] = time.perf_counter() - tic
    return times


@dataclasses.dataclass
class Swept:
    start_s: float  # the cluster's start-up
    runs_s: float  # submit → last result
    files_s: float  # the sweep's own files after that
    task_s: dict[str, float]  # each run's task, from run.json, in completion order


def swept(study, folder: Path, workers: int) -> Swept:
    tic = time.perf_counter()
    stamps: list[tuple[float, str]] = []

    def completed(line: str) -> None:  # "[3/16] RUN: finished (2.1 s)"
        stamps.append((time.perf_counter(), line.split("] ", 1)[1].split(": ")[0]))

    with connect("local", "fd", workers, report=lambda line: None) as client:
        client.wait_for_workers(workers)
        started = time.perf_counter()
        result = run_study(study, folder, client, report=completed, progress=False)
        done = time.perf_counter()
    assert result.complete, [r for r in result.rows if r["status"] != "finished"]
    wall = {r["run"]: r["wall_s"] for r in result.rows}
    return Swept(started - tic, stamps[-1][0] - started, done - stamps[-1][0], {name: wall[name] for _, name in stamps})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nx", type=int, help="default: the case's [fd] nx")
    parser.add_argument("--ny", type=int, help="default: the case's [fd] ny")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cli-runs", type=int, default=4)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    args = parser.parse_args(argv)
    load_before = load()
    grid = {name: value for name, value in (("nx", args.nx), ("ny", args.ny)) if value is not None}
    with tempfile.TemporaryDirectory(prefix="sweep_benchmark_") as scratch:
        scratch = Path(scratch)
        study = plan_study(CASE, "fd", scratch / "sweep", params=AXES, options=grid)
        few = plan_study(CASE, "fd", scratch / "one_worker", params=AXES, options=grid)
        few = dataclasses.replace(few, runs=few.runs[: args.cli_runs])
        tic = time.perf_counter()
        api.solve(study.runs[0].load(), "fd", nx=9, ny=24)  # the imports and first calls: not in S
        warm_up = time.perf_counter() - tic

        direct = direct_runs(study, scratch / "direct")
        pair = study.runs[: args.workers]
        parallel = plain_processes(pair, scratch / "plain")
        sweep = swept(study, scratch / "sweep", args.workers)
        cli = cli_runs(few.runs, scratch / "cli")
        one = swept(few, scratch / "one_worker", 1)
    load_after = load()

    total = sum(direct.values())
    ideal = total / args.workers
    shape = f"{args.nx}×{args.ny}" if grid else "the case's [fd] grid (65×162)"
    later = list(one.task_s)[1:]  # the one-worker sweep's tasks after its first (imports)
    task_over_direct = statistics.mean(one.task_s[name] - direct[name] for name in later) if later else float("nan")
    between = (one.runs_s - sum(one.task_s.values())) / len(one.task_s)
    figures = {
        "runs": len(study.runs), "grid": shape, "workers": args.workers, "direct_warm_up_s": warm_up,
        "direct_total_s": total, "sweep_runs_s": sweep.runs_s, "sweep_files_s": sweep.files_s,
        "sweep_cluster_start_s": sweep.start_s, "target_s": 1.2 * ideal, "ratio": sweep.runs_s / ideal,
        "first_tasks_s": list(sweep.task_s.values())[: args.workers],
        "median_task_s": statistics.median(sweep.task_s.values()),
        "cli_mean_s": statistics.mean(cli.values()), "one_worker_runs_s": one.runs_s,
        "one_worker_per_run_s": one.runs_s / len(few.runs), "one_worker_tasks_s": one.task_s,
        "task_minus_direct_s": task_over_direct, "between_tasks_s": between,
        "plain_parallel_s": parallel, "plain_serial_s": sum(direct[spec.name] for spec in pair),
        "load_before": load_before, "load_after": load_after, "cpus": os.cpu_count(), "machine": platform.machine(),
    }
    per_run = one.runs_s / len(few.runs)
    lines = [
        f"eofpinn sweep benchmark: {len(study.runs)} FD runs of straight_channel.toml on {shape}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load_before} before, {load_after} after",
        "",
        "| measurement | seconds | note |",
        "|---|---|---|",
        f"| 16 runs in this process, one after the other (S) | {total:.1f} | {total / 16:.2f} s per run; the imports "
        f"before them took {warm_up:.1f} s |",
        f"| 16 runs as a sweep on {args.workers} workers (T: submit → last result) | {sweep.runs_s:.1f} | "
        f"T ÷ (S ÷ {args.workers}) = {sweep.runs_s / ideal:.2f} (target ≤ 1.2); each worker's first run "
        f"{', '.join(f'{s:.1f}' for s in figures['first_tasks_s'])} s (imports), median run "
        f"{figures['median_task_s']:.2f} s |",
        f"| the machine's parallelism: the first {len(pair)} runs in {len(pair)} plain processes at once | "
        f"{parallel:.1f} | one after the other here: {figures['plain_serial_s']:.1f} s, speed-up "
        f"{figures['plain_serial_s'] / parallel:.2f} of {len(pair)}; T ÷ (S ÷ that speed-up) = "
        f"{sweep.runs_s * figures['plain_serial_s'] / parallel / total:.2f} |",
        f"| then the sweep's files (csv, json, pvd, plots) | {sweep.files_s:.1f} | cluster start-up before T: "
        f"{sweep.start_s:.1f} s |",
        f"| `eofpinn solve` process per run ({len(cli)} runs) | {figures['cli_mean_s']:.2f} | Python start, imports, "
        "solve, files, figures |",
        f"| sweep on 1 worker, per run (the same {len(cli)} runs) | {per_run:.2f} | against `eofpinn solve`: "
        f"{per_run - figures['cli_mean_s']:+.2f} s per run (target ≤ +1) |",
        f"| its tasks after the first, against the same runs solved here | {task_over_direct:+.2f} | time between "
        f"tasks: {between:+.2f} s per run |",
    ]
    table = "\n".join(lines)
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep_benchmark.md").write_text(table + "\n")
    (out / "sweep_benchmark.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
