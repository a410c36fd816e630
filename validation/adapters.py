"""Validation study "adapters": does the `diagnose` verdict predict whether per-loss adapters help?

Claim under test (arXiv 2605.10136, Kim & N'guessan 2026, abstract): gradient conflict comes
in regimes; persistent directional conflict calls for loss-indexed parameter subspaces
(per-loss adapters), magnitude imbalance for scalar reweighting, low conflict for nothing; a
1000-step profile of an unmodified run tells which. eofpinn's reading and rule:
eofpinn/solvers/pinn/diagnose.py and adapters.py, method.md "Diagnose first".

Cells (each trained from scratch, on eofpinn's one trainer):
- `npp1d eps=…`: the 1D Nernst–Planck–Poisson double layer of validation/npp1d.py in the
  paper's layout (direct outputs, soft walls, K = 6 loss terms; 3 blocks of 3 × 32, 512
  points, lr 1e-3 constant, GN every 100 steps), ε = 0.2, 0.1, 0.05, 0.02;
- `quickstart`: the 2D straight channel with cases/quickstart.toml's own [pinn] settings
  (K = 10; errors against the exact solution);
- `straight:EPS:ZETA`: the same at Debye ratio EPS and ζ̂ = ZETA on both walls (the exact
  suite's cells, e.g. its hardest, straight:0.02:4; errors against the exact solution);
- `patterned_zeta`: cases/patterned_zeta.toml with its [pinn] settings (errors against an FD
  solution on 81 × 82, computed once and kept in --out).

For every cell:
1. the verdict of `diagnose` (its profile: the case's optimiser, balancing none, `--profile-steps`
   steps, a row every `--every`), for each seed — is it stable?
2. four methods at equal training wall time ([pinn] time_limit_s = `--time-1d` / `--time-2d`
   seconds, the trainer's own clock, logging excluded): SOAP+GN, SOAP+GN+adapters, Adam+GN,
   Adam+GN+adapters ("+adapters": per-loss adapters of rank 4, routed; "+adapters-unrouted"
   can be added with --methods), each for every seed; the error is the mean relative L2 over
   (φ, c₊, c₋, u) for 2D and over (ψ, c₊, c₋) for 1D, at the last row (final) and the best row.
3. the prediction: "directional" says the +adapters variant of each optimiser should beat the
   plain one; "magnitude" and "low" say it should not. Observed: final error with adapters
   below the one without (geometric mean over seeds).

The runs are spread over `--workers` processes of one torch thread each and stored one by one
in `--out`/adapters.json: an interrupted study resumes where it stopped (the same command).
Writes adapters.json, adapters_errors.png, one diagnose figure per cell, and the section
`adapters` of validation/RESULTS.md.

    PYTHONPATH=. python validation/adapters.py [--seeds 2] [--time-1d 45] [--time-2d 180]
        [--profile-steps 1000] [--cells npp1d,quickstart,patterned_zeta] [--workers 2]

The default budget is modest for a shared 2-core CPU (about 2 hours of wall time); a larger
one (e.g. --time-1d 600 --time-2d 1800 --seeds 3) is the same command.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eofpinn import atomic  # noqa: E402
from eofpinn.cases import load_case  # noqa: E402
from eofpinn.cases.pinn_settings import replace  # noqa: E402
from eofpinn.solvers.pinn import diagnose as dg  # noqa: E402
from validation.npp1d import CouplingConfig, DoubleLayerTask, train_configuration  # noqa: E402
from validation.results_page import error_cell, markdown_table, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EPSILONS = (0.2, 0.1, 0.05, 0.02)
CASES_2D = {"quickstart": ROOT / "cases" / "quickstart.toml", "patterned_zeta": ROOT / "cases" / "patterned_zeta.toml"}
METHODS = ("SOAP+GN", "SOAP+GN+adapters", "Adam+GN", "Adam+GN+adapters")
REFERENCE_GRID = (81, 82)
BIG = 10**7  # steps of a time-limited 1D run: the time limit ends it
# The time limit is checked at history rows: rows often enough that a slow (routed) step
# overshoots the limit by little. Errors are evaluated at each row, off the training clock.
LOG_EVERY_1D, LOG_EVERY_2D = 10, 5


def parse_method(name: str) -> dict[str, str]:
    """"SOAP+GN+adapters" → optimizer soap, balancing gn, adapters per_loss (routed)."""
    parts = name.lower().split("+")
    optimizer, balancing, extra = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
    if optimizer not in ("soap", "adam") or balancing not in ("gn", "none") or extra not in (
            "", "adapters", "adapters-unrouted") or len(parts) > 3:
        raise ValueError(f"method {name!r}: expected OPT+GN[+adapters|+adapters-unrouted], OPT soap or adam")
    return {"optimizer": optimizer, "balancing": balancing, "adapters": "none" if not extra else "per_loss",
            "routing": "unrouted" if extra.endswith("unrouted") else "routed"}


# --------------------------------------------------------------------------- jobs (run in workers)
def _cell_case(cell: str):
    """The case of a 2D cell: a shipped case, or `straight eps=E zeta=Z` (the quick-start case
    with its [pinn] settings at Debye ratio E and wall potential Z: the exact suite's cells)."""
    if cell.startswith("straight"):
        from eofpinn.cases import with_overrides

        values = dict(part.split("=") for part in cell.split()[1:])
        return with_overrides(load_case(CASES_2D["quickstart"]),
                              {"debye_ratio": float(values["eps"]), "zeta_hat": float(values["zeta"])}, source="study")
    return load_case(CASES_2D[cell])


def profile_job(job: dict) -> dict:
    """The diagnose profile of a cell and seed: verdict, statistics, rows."""
    torch.set_num_threads(1)
    cell, seed = job["cell"], job["seed"]
    if cell.startswith("npp1d"):
        config = CouplingConfig(debye_ratio=job["eps"], seed=seed, weighting="none", formulation=job["layout"])
        settings = dg.profile_settings(config.settings(), job["steps"], job["every"])
        profile = dg.profile_task(DoubleLayerTask(config), settings, cell)
    else:
        case = _cell_case(cell)
        case = _with_threads(case)
        profile = dg.profile_case(case, job["steps"], job["every"], seed)
    d = dg.diagnose(profile)
    if job.get("figure"):
        dg.plot_diagnosis(d, Path(job["figure"]))
    return {**job, "diagnosis": d.as_json(), "rows": d.history}


def _with_threads(case):
    import dataclasses

    return dataclasses.replace(case, pinn=replace(case.pinn, {"threads": 1, "device": "cpu"}))


def run_job(job: dict) -> dict:
    """One training run of a method on a cell at the time limit."""
    torch.set_num_threads(1)
    method = parse_method(job["method"])
    if job["cell"].startswith("npp1d"):
        config = CouplingConfig(debye_ratio=job["eps"], seed=job["seed"], optimizer=method["optimizer"],
                                weighting=method["balancing"], formulation=job["layout"], steps=BIG,
                                adapters=method["adapters"], adapter_routing=method["routing"],
                                time_limit_s=job["time_limit_s"], log_every=LOG_EVERY_1D)
        result = train_configuration(config)
        return {**job, "final_error": result["final_error"], "best_error": result["best_error"],
                "steps_done": result["steps_done"], "ms_per_step": result["ms_per_step"],
                "parameters": result["parameters"], "train_seconds": result["seconds"]}
    from eofpinn.io import read_run
    from eofpinn.solvers.pinn.channel import solve_pinn

    case = _with_threads(_cell_case(job["cell"]))
    settings = replace(case.pinn, {
        "seed": job["seed"], "time_limit_s": job["time_limit_s"], "optimizer.name": method["optimizer"],
        "balancing.name": method["balancing"], "network.adapters": method["adapters"],
        "network.adapter_routing": method["routing"], "records.conflict_diagnostics": False,
        "records.log_every": LOG_EVERY_2D,
    })
    reference = read_run(job["reference"]) if job.get("reference") else None
    info = solve_pinn(case, settings, reference=reference).info
    return {**job, "final_error": info["final_errors"].get("mean", math.nan),
            "best_error": info["best_errors"].get("mean", math.nan), "steps_done": info["steps"],
            "ms_per_step": info["ms_per_step"], "parameters": info["parameters"],
            "train_seconds": info["train_seconds"]}


def run_any(job: dict) -> dict:
    start = time.perf_counter()
    try:
        result = profile_job(job) if job["kind"] == "profile" else run_job(job)
    except Exception as exc:  # a diverged run is a result, not the end of the study
        result = {**job, "error": f"{type(exc).__name__}: {exc}", "final_error": math.inf, "best_error": math.inf}
    return {**result, "wall_seconds": time.perf_counter() - start}


# --------------------------------------------------------------------------- plan
def cells(args: argparse.Namespace) -> list[dict]:
    out = []
    for name in _csv(args.cells):
        if name == "npp1d":
            out += [{"cell": f"npp1d paper eps={eps:g}", "eps": eps, "layout": "paper"} for eps in _floats(args.eps)]
        elif name == "npp1d-recipe":
            out += [{"cell": f"npp1d recipe eps={eps:g}", "eps": eps, "layout": "recipe"}
                    for eps in _floats(args.eps_recipe)]
        elif name in CASES_2D:
            out.append({"cell": name})
        elif name.startswith("straight:"):
            _, eps, zeta = name.split(":")
            out.append({"cell": f"straight eps={float(eps):g} zeta={float(zeta):g}"})
        else:
            raise SystemExit(f"unknown cell {name!r}: npp1d, npp1d-recipe, straight:EPS:ZETA, {', '.join(CASES_2D)}")
    return out


def plan(args: argparse.Namespace, reference: str | None) -> list[dict]:
    jobs = []
    for cell in cells(args):
        one_d = cell["cell"].startswith("npp1d")
        figure = Path(args.out) / f"diagnose_{cell['cell'].replace(' ', '_').replace('=', '')}.png"
        for seed in range(args.seeds):
            every = args.every_1d if one_d else args.every
            jobs.append({**cell, "kind": "profile", "seed": seed, "steps": args.profile_steps, "every": every,
                         "figure": str(figure) if seed == 0 else "",
                         "key": f"profile|{cell['cell']}|{seed}|{args.profile_steps}|{every}"})
        for method in _csv(args.methods):
            parse_method(method)
            for seed in range(args.seeds):
                job = {**cell, "kind": "run", "method": method, "seed": seed,
                       "time_limit_s": args.time_1d if one_d else args.time_2d,
                       "key": f"run|{cell['cell']}|{method}|{seed}|{args.time_1d if one_d else args.time_2d}"}
                if cell["cell"] == "patterned_zeta":
                    job["reference"] = reference
                jobs.append(job)
    return jobs


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _floats(text: str) -> list[float]:
    return [float(v) for v in _csv(text)]


def fd_reference(out: Path) -> str:
    """An FD solution of patterned_zeta on 81 × 82, written once to out/fd_patterned_zeta."""
    from eofpinn import api, io

    folder = out / "fd_patterned_zeta"
    if not (folder / "summary.json").exists():
        solution = api.solve(load_case(CASES_2D["patterned_zeta"]), "fd", nx=REFERENCE_GRID[0], ny=REFERENCE_GRID[1])
        io.write_run(solution, folder)
    return str(folder)


# --------------------------------------------------------------------------- summary
def _geomean(values: list[float]) -> float:
    values = [v for v in values if math.isfinite(v) and v > 0]
    return float(np.exp(np.mean(np.log(values)))) if values else math.nan


def verdict(profile: dict, thresholds: dg.Thresholds = dg.Thresholds()) -> dict:
    """A stored profile with its diagnosis recomputed from its rows by the current rule."""
    from eofpinn.cases.pinn_settings import PINNSettings

    settings = dg.profile_settings(PINNSettings(), profile["steps"], profile["every"], profile["seed"])
    names = tuple(profile["diagnosis"]["term_names"])
    d = dg.diagnose(dg.Profile(profile["rows"], names, settings, profile["diagnosis"]["seconds"], profile["cell"]),
                    thresholds)
    return {**profile, "diagnosis": d.as_json()}


def summary(results: list[dict], methods: list[str]) -> list[dict]:
    """One row per cell: verdicts per seed, statistics, error per method, prediction and outcome."""
    rows = []
    for cell in dict.fromkeys(r["cell"] for r in results):
        profiles = [verdict(r) for r in results if r["cell"] == cell and r["kind"] == "profile" and "diagnosis" in r]
        runs = [r for r in results if r["cell"] == cell and r["kind"] == "run"]
        verdicts = [p["diagnosis"]["regime"] for p in sorted(profiles, key=lambda p: p["seed"])]
        row: dict[str, Any] = {"cell": cell, "verdict (per seed)": "/".join(verdicts) or "—"}
        if profiles:
            row["cos_min med"] = f"{np.mean([p['diagnosis']['cos_min_median'] for p in profiles]):+.2f}"
            row["worst pair cos"] = f"{np.mean([p['diagnosis']['worst_pair_cos_median'] for p in profiles]):+.2f}"
            row["late"] = f"{np.mean([p['diagnosis']['late_conflict_fraction'] for p in profiles]):.0%}"
            row["‖∇L‖ ratio"] = f"{_geomean([p['diagnosis']['norm_ratio_median'] for p in profiles]):.3g}"
        errors = {}
        for method in methods:
            mine = [r for r in runs if r["method"] == method]
            errors[method] = _geomean([r["final_error"] for r in mine])
            steps = [r["steps_done"] for r in mine if "steps_done" in r]
            row[method] = f"{error_cell(errors[method])} ({int(np.median(steps)) if steps else 0})"
        finite = {m: e for m, e in errors.items() if math.isfinite(e)}
        row["best"] = min(finite, key=finite.get) if finite else "—"
        directional = bool(verdicts) and verdicts.count("directional") > len(verdicts) / 2
        outcomes = []
        for optimizer in ("SOAP", "Adam"):
            plain, adapted = errors.get(f"{optimizer}+GN"), errors.get(f"{optimizer}+GN+adapters")
            if plain is None or adapted is None or not (math.isfinite(plain) or math.isfinite(adapted)):
                continue
            helped = adapted < plain
            outcomes.append(helped == directional)
            row[f"{optimizer}: adapters ÷ plain"] = f"{adapted / plain:.2g}" if plain > 0 else "n/a"
        row["verdict right"] = f"{sum(outcomes)}/{len(outcomes)}" if outcomes else "—"
        rows.append(row)
    return rows


def plot(results: list[dict], methods: list[str], out: Path) -> Path:
    from eofpinn.plots import plt, save_figure

    cells_ = list(dict.fromkeys(r["cell"] for r in results if r["kind"] == "run"))
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(cells_)), 4.5))
    width = 0.8 / max(len(methods), 1)
    for i, method in enumerate(methods):
        for j, cell in enumerate(cells_):
            values = [r["final_error"] for r in results if r["kind"] == "run" and r["cell"] == cell
                      and r["method"] == method and math.isfinite(r["final_error"])]
            x = j + (i - (len(methods) - 1) / 2) * width
            if values:
                ax.bar(x, _geomean(values), width, color=f"C{i}", label=method if j == 0 else None)
                ax.plot([x] * len(values), values, "k.", ms=3)
    ax.set_yscale("log")
    ax.set_xticks(range(len(cells_)), cells_, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("final mean relative L2 error (equal wall time)")
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out / "adapters_errors.png")


def markdown_body(args: argparse.Namespace, results: list[dict], rows: list[dict], methods: list[str],
                  wall: float) -> str:
    runs = [r for r in results if r["kind"] == "run"]
    failed = [f"{r['cell']} {r['method']} seed {r['seed']}: {r['error']}" for r in runs if "error" in r]
    lines = [
        "Does the `eofpinn diagnose` verdict predict whether per-loss adapters help (arXiv 2605.10136)? "
        "Rule: directional if the most conflicting pair's median cosine (worst pair cos) < −0.5 and it stays below "
        "in ≥ 50 % (late) of the window's second half; "
        "else magnitude if the median max/min gradient-norm ratio ≥ 10; else low "
        "(eofpinn/solvers/pinn/diagnose.py).",
        "",
        f"Budget (modest, a shared 2-core CPU): profiles of {args.profile_steps} steps (a row every "
        f"{args.every_1d} steps in 1D, {args.every} in 2D); training runs at equal wall time "
        f"{args.time_1d:g} s (1D) and {args.time_2d:g} s (2D), the trainer's clock ([pinn] time_limit_s); "
        f"{args.seeds} seed(s), errors = geometric mean over seeds of the final mean relative L2 "
        f"(1D: ψ, c₊, c₋ on 2001 points; 2D: φ, c₊, c₋, u, against the exact solution or an FD solution on "
        f"{REFERENCE_GRID[0]} × {REFERENCE_GRID[1]}); in brackets the median number of steps reached. "
        f"+adapters = routed per-loss adapters of rank 4. 1D cells: paper layout, 3 × 32 blocks, 512 points, "
        f"lr 1e-3; 2D cells: the case's [pinn]. Workers of one torch thread ({args.workers} in the last "
        f"invocation); the jobs' wall times add up to {sum(r.get('wall_seconds', 0.0) for r in results) / 3600:.1f} h "
        f"(the last invocation took {wall / 60:.0f} min).",
        "",
        markdown_table(rows, list(rows[0].keys())),
        "",
        "`verdict right` counts the optimisers for which the outcome matched the prediction "
        "(directional ⇒ adapters lower the error; magnitude/low ⇒ they do not).",
    ]
    if failed:
        lines += ["", "Failed runs: " + "; ".join(failed)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="npp1d,npp1d-recipe,quickstart,patterned_zeta")
    parser.add_argument("--eps", default=",".join(f"{e:g}" for e in EPSILONS), help="1D Debye ratios (paper layout)")
    parser.add_argument("--eps-recipe", default="0.2,0.02", help="1D Debye ratios (recipe layout)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--profile-steps", type=int, default=dg.DEFAULT_STEPS)
    parser.add_argument("--every", type=int, default=dg.DEFAULT_EVERY, help="profile row cadence, 2D")
    parser.add_argument("--every-1d", type=int, default=10, help="profile row cadence, 1D")
    parser.add_argument("--time-1d", type=float, default=45.0, help="training seconds per 1D run")
    parser.add_argument("--time-2d", type=float, default=180.0, help="training seconds per 2D run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "adapters"))
    parser.add_argument("--no-results-page", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = out / "adapters.json"
    done = {r["key"]: r for r in json.loads(store.read_text())["results"]} if store.exists() else {}
    reference = fd_reference(out) if "patterned_zeta" in _csv(args.cells) else None
    jobs = [j for j in plan(args, reference) if j["key"] not in done]
    print(f"{len(jobs)} jobs to run ({len(done)} stored), {args.workers} worker(s)", flush=True)
    start = time.perf_counter()
    with get_context("spawn").Pool(args.workers) as pool:
        for result in pool.imap_unordered(run_any, jobs):
            done[result["key"]] = result
            atomic.write_text(store, json.dumps({"args": vars(args), "results": list(done.values())}, default=str))
            what = (f"{result['diagnosis']['regime']}" if result["kind"] == "profile" and "diagnosis" in result
                    else f"final {error_cell(result['final_error'])} ({result.get('steps_done', 0)} steps)")
            print(f"[{time.perf_counter() - start:7.0f} s] {result['key']}: {what}"
                  + (f" — {result['error']}" if "error" in result else ""), flush=True)
    wall = time.perf_counter() - start
    keys = {j["key"] for j in plan(args, reference)}
    results = [r for r in done.values() if r["key"] in keys]
    methods = _csv(args.methods)
    rows = summary(results, methods)
    print("\n" + markdown_table(rows, list(rows[0].keys())))
    plot(results, methods, out)
    if not args.no_results_page:
        command = "PYTHONPATH=. python validation/adapters.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section("adapters", command.strip(), markdown_body(args, results, rows, methods, wall))
        print("wrote validation/RESULTS.md section adapters")
    return results


if __name__ == "__main__":
    main()
