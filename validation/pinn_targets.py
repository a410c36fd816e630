"""Study "pinn_targets": the PINN on the shipped cases, each with its own [pinn] settings, against
its reference — the exact solution of a straight channel, else FD on the case's grid with every
cell halved (nx → 2nx − 1, ny → 2ny − 2).

Why the finer grid: a reference must be well inside the target it judges. On `zeta_step` the
case's own grid (65 × 162) has v within 4.7e-3 of FD 257 × 642, half of v's 1e-2 target, so a
comparison with it would charge FD's discretisation error to the PINN; the halved grid is within
9.5e-4 (docs/method.md, "The yardstick"). The table gives the reference's own error (`ref_error`:
the largest over ψ, c±, u, v, p of the Richardson estimate ‖FD_fine − FD_case‖ / 3, second order),
and v against the case's grid beside it (`err_v_case_grid`).

Targets (issue 15): straight_channel and pressure_eof ≤ 1e-3 and thin_edl ≤ 5e-3 (mean relative
L2 over φ, c₊, c₋, u); patterned_zeta and zeta_step ≤ 1e-2 in ψ, c₊, c₋, u, v and ≤ 3e-2 in p
(relative L2 against FD, the same problem); charge_patches, the same on walls of given surface
charge, cacl2_channel, straight_channel's target for a 2:1 salt between charged walls, and
patterned_lacl3, patterned_zeta's with a 3:1 salt (none of them is one of the issue's cases). Also reported: the physical consistency that
`eofpinn validate` measures without a reference (spread of the volume flux and of each ion flux
over cross-sections) and the error of the excess pressure P = p − Π (`err_p_excess`, relative to
max(‖P_ref‖, ‖|u_ref|‖); eofpinn/validation/compare.py): p is dominated by the double layers'
osmotic pressure, so its error can hide a wrong induced pressure. Each (case, seed) is one resumable run directory under --out; the table
gives the median over seeds, and how many seeds meet the target on their own. Prints the table, writes pinn_targets.json and the section
`pinn_targets` of validation/RESULTS.md.

    python validation/pinn_targets.py [--seeds 2] [--cases straight_channel,patterned_zeta] [--threads 1]
        [--finished-only]   (tabulate the finished runs, train nothing: seeds then differ by case)

With --cases naming some of the cases, the rows of the others are carried over from the
section already in validation/RESULTS.md, as printed there, and the section says which rows
(their settings must not have changed since: rerun them when they have). Each row's column
`tabulated` is the time its own runs were tabulated, which a carried row keeps (`carried_from`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `validation.*`, eofpinn

from eofpinn import io  # noqa: E402
from eofpinn.cases import load_case  # noqa: E402
from eofpinn.solution import Solution  # noqa: E402
from eofpinn.validation.compare import balances, field_errors  # noqa: E402
from eofpinn.verification.fd_convergence import refinement_grids, relative_difference  # noqa: E402
from validation import pinn_study  # noqa: E402
from validation.results_page import markdown_table, section_tables, utc_stamp, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIELDS = ("psi", "c_plus", "c_minus", "u", "v", "p")
# case → (what is checked, bound): "mean" = the paper's mean; "fields" = every field of FIELDS.
TARGETS = {
    "straight_channel": ("mean", 1e-3),
    "pressure_eof": ("mean", 1e-3),
    "thin_edl": ("mean", 5e-3),
    "patterned_zeta": ("fields", 1e-2),
    "zeta_step": ("fields", 1e-2),
    "charge_patches": ("fields", 1e-2),  # not the issue's: patterned_zeta's targets on charge-patterned walls
    "cacl2_channel": ("mean", 1e-3),  # not the issue's: straight_channel's target for a 2:1 salt on charged walls
    "patterned_lacl3": ("fields", 1e-2),  # not the issue's: patterned_zeta's targets with a 3:1 salt
}
PRESSURE_BOUND = 3e-2  # p of the 2D cases
CONSISTENCY_BOUND = 1e-2


@dataclass(frozen=True)
class Suite:
    """A set of cases tabulated into one RESULTS.md section: where their case files are, each
    one's target (TARGETS' form) and what the section says they are. `validation/pinn_heldout.py`
    tabulates cases nobody tuned the recipe on with the same machinery."""

    section: str
    case_dir: Path
    targets: dict
    about: str

    def case_file(self, name: str) -> Path:
        return self.case_dir / f"{name}.toml"


SHIPPED = Suite("pinn_targets", REPO / "cases", TARGETS,
                "PINN on the shipped cases with their own [pinn] settings (`eofpinn solve CASE --solver pinn`)")


def halved_grid(nx: int, ny: int) -> tuple[int, int]:
    """The FD grid with every cell halved: nx − 1 cells along x and ny − 2 across become twice as
    many (the old nodes stay nodes along x, on the case's stretched maps): the next of
    fd_convergence's nested grids."""
    return refinement_grids(nx, ny, levels=2, coarsening=1)[1]


def references(case, out_dir: Path) -> tuple[Solution, dict]:
    """The case's reference and what the table says of it: the exact solution of a straight
    channel; else FD on the halved grid, with its own error estimated against FD on the case's
    grid (Richardson, second order: ‖fine − coarse‖ / 3, the largest over FIELDS) and that
    coarser solution (`case_grid`)."""
    if case.problem.is_straight_channel:
        return pinn_study.reference_for(case, out_dir), {"reference": "exact", "ref_error": "–"}
    coarse = pinn_study.fd_reference(case, out_dir)
    nx, ny = halved_grid(case.fd.nx, case.fd.ny)
    fine = pinn_study.fd_reference(case, out_dir.with_name(f"fd_{nx}x{ny}"), nx, ny)
    own = max(relative_difference(fine, coarse, name) / 3.0 for name in FIELDS)
    return fine, {"reference": f"FD {nx}×{ny}", "ref_error": own, "case_grid": coarse}


def meets(target: tuple[str, float], row: dict) -> bool:
    """Whether `row` meets `target` (kind, bound) of TARGETS' form."""
    kind, bound = target
    if kind == "mean":
        return row["err_mean"] <= bound
    return all(row[f"err_{f}"] <= (PRESSURE_BOUND if f == "p" else bound) for f in FIELDS)


def consistency(solution: Solution, reference: Solution, fields: bool = False) -> dict:
    """Spread of the volume flux and of each ion flux over cross-sections (eofpinn validate), and
    the excess pressure's error against `reference`; with `fields`, also every field's error and
    their paper mean as `eofpinn validate --reference` measures them, on the run's output grid
    (for a run trained without a reference, whose history has no errors)."""
    found = balances(solution)
    errors = field_errors(solution, reference)
    out = {"err_p_excess": errors["p_excess"]["relative_l2"],
           "volume_flux_spread": found["volume_flux_spread"],
           "ion_flux_spread": max(found["ion_flux_spread_c_plus"], found["ion_flux_spread_c_minus"])}
    if fields:
        out.update({f"err_{k}": v["relative_l2"] for k, v in errors.items() if k not in ("paper_mean", "p_excess")},
                   err_mean=errors["paper_mean"]["relative_l2"], by_validate=True)
    return out


def target_text(target: tuple[str, float]) -> str:
    kind, bound = target
    return f"mean ≤ {bound:g}" if kind == "mean" else f"ψ,c±,u,v ≤ {bound:g}, p ≤ {PRESSURE_BOUND:g}"


def run_case(name: str, seeds: int, out: Path, threads: int = 0, finished_only: bool = False,
             suite: Suite = SHIPPED) -> dict:
    case = load_case(suite.case_file(name))
    target = suite.targets[name]
    reference, about = references(case, out / name / "fd")
    case_grid = about.pop("case_grid", None)
    runs, tried = [], 0
    for seed in range(seeds):
        run_dir = out / name / f"seed{seed}"
        if finished_only and not (run_dir / "summary.json").is_file():
            print(f"{name} seed {seed}: not run (--finished-only)", flush=True)
            continue
        tried += 1
        row = pinn_study.run_pinn(case, {"seed": seed, "threads": threads}, reference, run_dir)
        if row["status"].startswith("diverged"):
            print(f"{name} seed {seed}: {row['status']}", flush=True)
            continue
        # A run trained without a reference (`eofpinn solve`, then put here) has no errors of its own,
        # and one trained beside FD on the case's grid has them against that grid, not the finer one.
        solution = io.read_run(run_dir)
        row.update(consistency(solution, reference, fields="err_psi" not in row or case_grid is not None))
        if case_grid is not None:
            row["err_v_case_grid"] = field_errors(solution, case_grid)["v"]["relative_l2"]
        row["seed"] = seed
        runs.append(row)
        print(f"{name} seed {seed}: " + ", ".join(f"{k} {v:.2e}" for k, v in row.items()
                                                   if k.startswith(("err_", "volume", "ion"))), flush=True)
    keys = [k for k in runs[0] if k.startswith(("err_", "volume_flux", "ion_flux"))] if runs else []
    median = {k: float(np.median([r[k] for r in runs])) for k in keys}
    median.update(about)
    median.update(case=name, seeds=len(runs), steps=runs[0]["steps"] if runs else ("diverged" if tried else "not run"),
                  train_s=max((r["train_s"] for r in runs), default=float("nan")))
    median["target"] = target_text(target)
    median["met"] = "yes" if runs and meets(target, median) else "no"
    median["per_seed"] = [{**r, "case": name, "met": "yes" if meets(target, r) else "no"} for r in runs]
    median["seeds_met"] = f"{sum(r['met'] == 'yes' for r in median['per_seed'])}/{len(runs)}"
    median["by_validate"] = any(r.get("by_validate") for r in runs)
    return median


def carried_from(row: dict[str, str], stamp: str) -> str:
    """When a row of the page's table was tabulated: its own `tabulated` cell, or (a table of
    before that column) the stamp of the section it was read from."""
    return row.get("tabulated") or stamp


def reference_of(row: dict[str, str], suite: Suite = SHIPPED) -> dict[str, str]:
    """A carried row's `reference` and `ref_error` cells; a row of a table before those columns
    was measured against the exact solution (straight channels) or FD on the case's own grid."""
    if row.get("reference"):
        return {"reference": row["reference"], "ref_error": row.get("ref_error", "")}
    exact = load_case(suite.case_file(row["case"])).problem.is_straight_channel
    return {"reference": "exact", "ref_error": "–"} if exact else {"reference": "FD, the case's grid", "ref_error": ""}


def main(argv: list[str] | None = None, suite: Suite = SHIPPED, description: str | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(suite.targets))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "validation" / "out" / suite.section))
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads per run (0: torch's default); 1 when other jobs share the CPU")
    parser.add_argument("--finished-only", action="store_true",
                        help="train nothing: tabulate the finished runs in --out (up to --seeds per case)")
    parser.add_argument("--no-results-page", action="store_true")
    args = parser.parse_args(argv)
    pinn_study.use_threads(args.threads)
    out = Path(args.out)
    names = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = [name for name in names if name not in suite.targets]
    if unknown:
        parser.error(f"--cases: {', '.join(unknown)} not among {', '.join(suite.targets)}")
    rows = [run_case(name, args.seeds, out, args.threads, args.finished_only, suite) for name in names]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{suite.section}.json").write_text(json.dumps(rows, indent=2))
    stamp, tables = section_tables(suite.section)
    previous, previous_seeds = (tables + [[], []])[:2]
    carried = [{**row, "tabulated": carried_from(row, stamp), **reference_of(row, suite)}
               for row in previous if row.get("case") in suite.targets and row["case"] not in names]
    now = utc_stamp()
    order = lambda row: list(suite.targets).index(row["case"])  # noqa: E731
    per_seed = sorted([seed_row for row in rows for seed_row in row["per_seed"]]
                      + [row for row in previous_seeds if row.get("case") in {r["case"] for r in carried}], key=order)
    rows = sorted([{**row, "tabulated": now} for row in rows] + carried, key=order)
    columns = ["case", "target", "met", "reference", "ref_error", "err_mean", *(f"err_{f}" for f in FIELDS),
               "err_v_case_grid", "err_p_excess", "volume_flux_spread", "ion_flux_spread", "steps", "train_s", "seeds",
               "seeds_met", "tabulated"]
    formats = {c: ".1e" for c in columns if c.startswith(("err_", "volume", "ion", "ref_error"))} | {"train_s": ".0f"}
    table = markdown_table(rows, columns, formats)
    seed_columns = ["case", "seed", "met", "err_mean", *(f"err_{f}" for f in FIELDS), "volume_flux_spread",
                    "ion_flux_spread", "train_s"]
    seed_table = markdown_table(per_seed, seed_columns, formats)
    print(table)
    print(seed_table)
    if not args.no_results_page:
        body = (suite.about + ", median over seeds; errors: relative L2 against the exact solution (straight "
                "channels) or FD on the case's grid with every cell halved (the same problem; `reference`), whose own error "
                "`ref_error` is the largest over ψ, c±, u, v, p of the Richardson estimate ‖FD_halved − FD_case‖ / 3; "
                "err_v_case_grid: v against FD on the case's own grid; err_p_excess: the excess pressure P = p − Π, "
                "relative to max(‖P_ref‖, ‖|u_ref|‖) (not one of the issue's targets: p is, and its norm is "
                "the double layers' osmotic pressure); flux spreads: `eofpinn validate` without a "
                f"reference (target ≤ {CONSISTENCY_BOUND:g}); train_s: the longest training wall time among the case's runs, as each recorded it when it "
                "ran (finished runs are skipped, so it is the load of that time, not of this invocation's); "
                "seeds_met: how many of the case's seeds meet the target on their own (`met` judges the medians)."
                + (" Rows carried over unchanged from earlier tables (this invocation did not tabulate them; "
                   f"`tabulated` says when their runs were): {', '.join(row['case'] for row in carried)}."
                   if carried else "")
                + (" Runs made by `eofpinn solve` without a reference (their history has no errors) are measured as "
                   "`eofpinn validate --reference` measures them, on their own output grid: "
                   f"{', '.join(row['case'] for row in rows if row.get('by_validate'))}."
                   if any(row.get("by_validate") for row in rows) else "")
                + "\n\n" + table
                + "\n\nEach seed on its own (`met`: the seed meets the case's target"
                + ("; the cases tabulated since this table was added, 2026-12-07, and carried with their rows"
                   if {row["case"] for row in rows} - {row["case"] for row in per_seed} else "")
                + "):\n\n" + seed_table)
        write_section(suite.section, f"python validation/{suite.section}.py " + " ".join(argv or sys.argv[1:]), body)
    return rows


if __name__ == "__main__":
    pinn_study.run_script(main)
