"""Benchmark of the FD reference solver on the patterned-zeta case.

Solves cases/patterned_zeta.toml (periodic, alternating −50/+25 mV patches, ε ≈ 0.096) on
64×64, 128×128, 256×256 and 512×256 nodes (nx × ny), each in its own process so that the peak
resident memory (ru_maxrss) belongs to that grid alone, and writes a table:

    python benchmarks/fd_benchmark.py [--out benchmarks/out] [--grids 64x64 128x128 ...]

Outputs fd_benchmark.md and fd_benchmark.json in --out. The machine's load average is
recorded too: timings on a shared 2-core machine vary with what else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "patterned_zeta.toml"
DEFAULT_GRIDS = ("64x64", "128x128", "256x256", "512x256")


def run_one(grid: str) -> dict:
    """Solve on one grid in this process and return its measurements."""
    sys.path.insert(0, str(ROOT))
    from eofpinn.cases import load_case
    from eofpinn.solvers.fd import solve_fd

    nx, ny = (int(n) for n in grid.split("x"))
    case = load_case(CASE)
    tic = time.perf_counter()
    solution = solve_fd(case, nx=nx, ny=ny)
    elapsed = time.perf_counter() - tic
    info = solution.info
    return {
        "grid": grid,
        "unknowns": info["unknowns"],
        "time_s": round(elapsed, 2),
        "newton_iterations": info["newton_iterations"],
        "coarse_grids": info["coarse_grids"],
        "coarse_newton_iterations": info["coarse_newton_iterations"],
        "lu_factorisations": info["lu_factorisations"],
        "gmres_iterations": info["gmres_iterations"],
        "jacobian_time_s": round(info["jacobian_time_s"], 2),
        "linear_solve_time_s": round(info["linear_solve_time_s"], 2),
        "peak_rss_GB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "final_residual": info["residual_history"][-1],
        "ion_flux_spread": max(info["conservation"]["ion_flux_spread_c_plus"],
                               info["conservation"]["ion_flux_spread_c_minus"]),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def markdown(rows: list[dict]) -> str:
    head = ("| grid (nx×ny) | unknowns | time [s] | Newton (fine) | Newton (coarser grids) | LU | GMRES "
            "| Jacobian [s] | linear [s] | peak RSS [GB] | load |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['grid']} | {r['unknowns']} | {r['time_s']} | {r['newton_iterations']} "
            f"| {r['coarse_newton_iterations']} | {r['lu_factorisations']} | {r['gmres_iterations']} "
            f"| {r['jacobian_time_s']} | {r['linear_solve_time_s']} | {r['peak_rss_GB']} | {r['load_average_1min']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--grids", nargs="+", default=list(DEFAULT_GRIDS))
    parser.add_argument("--single", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single:
        print(json.dumps(run_one(args.single)))
        return 0
    rows = []
    for grid in args.grids:
        done = subprocess.run([sys.executable, __file__, "--single", grid], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if done.returncode != 0:
            print(f"{grid}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows)
    header = f"FD solver, {CASE.name}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs\n\n"
    (args.out / "fd_benchmark.md").write_text(header + table)
    (args.out / "fd_benchmark.json").write_text(json.dumps({"case": CASE.name, "rows": rows}, indent=2))
    print(header + table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
