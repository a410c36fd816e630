"""Study "pinn_recipe": an ablation of the PINN recipe, lever by lever (issue 15 item 8).

The recipe is the [pinn] default of eofpinn (eofpinn/cases/pinn_settings.py): the double-layer bases
of ψ and u, exact gauges, an exact-base start (output gain 0), pattern features and points redrawn
every 100 steps, and on channels whose walls change along x the 2D recipe (cross-section flux-spread
terms, GN weights capped at 1000× the smallest, the ion-flux spreads weighted 10× above the cap, v
scaled by 0.1, double-layer-wide input features for the c± and flow blocks, 100 collocation points
about the corners where a wall's ζ̂ changes on top of the 1000 others, the mirror symmetry where the
walls are alike, v's envelope along the channel, and the uniform points stratified where the
ion-content gauge applies — patterned_zeta included; a float64 L-BFGS polish of the flow block over
the last part of the steps only between reservoirs or where a counter-ion is crowded, so not on
patterned_zeta). Each "no …"/"fixed points"/"random uniform points" variant turns ONE of those
levers back (leave-one-out); "0.1 layout" turns them all back (the formulation of eofpinn 0.1:
linear wall blend, no flow base, penalty gauges, output gain 0.1, fixed points); each "+ …" variant
adds one lever the recipe leaves off (RAD, continuation, an L-BFGS polish of every block in the
run's float32 over the last fifth of the steps, the recipe's float64 flow polish over the last
quarter, the flow scale U, exact no-flux walls, Nernst–Planck residuals over the local ionic
strength, half the balance sections about the pattern edges).
Variants that change nothing on a straight channel (pattern features, the 2D recipe and its
sections) run on the patterned case only.
Every run gets the same number of steps (--steps) on
--cases: the hardest straight cell (ε = 0.02, ζ̂ = 4), a benign one (ε = 0.1, ζ̂ = 1: no
regression allowed) and cases/patterned_zeta.toml against FD, for --seeds seeds. Prints the final
errors (and v's, the field the 2D cases miss) and training times (median over seeds), plots error against training time (from each run's
history.csv), and writes for each group of cases a table (JSON), a figure and a section of
validation/RESULTS.md: `pinn_recipe` for the straight cells, `pinn_recipe_patterned_zeta` for the
patterned case (`…_N_steps` for another --steps N, so that a short ablation does not replace the
default one). A group's section is rewritten only by a run over that group, so the straight
cells can be rerun without the (much longer) patterned runs. Runs are resumable.

    python validation/pinn_recipe.py [--steps 1500] [--seeds 2] [--variants "recipe,no bases"] [--cases patterned_zeta]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `validation.*`, eofpinn

from eofpinn.cases import case_from_problem, load_case, straight_problem  # noqa: E402
from eofpinn.plots import save_figure  # noqa: E402
from validation import pinn_study  # noqa: E402
from validation.results_page import markdown_table, shown_path, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_STEPS = 1500
LEGACY_LAYOUT = {"formulation.psi_base": "linear", "formulation.flow_base": "none", "formulation.gauges": "penalty",
                 "network.output_gain": 0.1, "network.pattern_features": False, "points.resample_every": 0}
VARIANTS = {
    "recipe": {},
    "no bases": {"formulation.psi_base": "linear", "formulation.flow_base": "none"},
    "no flow base": {"formulation.flow_base": "none"},
    "penalty gauges": {"formulation.gauges": "penalty"},
    "random start": {"network.output_gain": 0.1},
    "no pattern features": {"network.pattern_features": False},
    "fixed points": {"points.resample_every": 0},
    "+ RAD": {"points.adaptive_fraction": 0.2, "points.adaptive_every": 200},
    "+ continuation": {"continuation.steps": 500},
    "+ polish": {"polish.steps": "fifth", "polish.dtype": "same", "polish.blocks": "all"},
    "+ flow scale": {"formulation.flow_scale": "auto"},
    "+ exact wall flux": {"formulation.wall_flux": "exact"},
    "+ ionic-strength NP": {"formulation.ion_residuals": "ionic_strength"},
    "0.1 layout": LEGACY_LAYOUT,
    # The 2D recipe ([pinn] recipe = "auto": walls that change along x), one lever back at a time.
    "no section terms": {"points.balance_sections": 0},
    "no GN cap": {"balancing.max_ratio": 0},
    "no ion-spread factor": {"balancing.ion_spread_factor": 1},
    "no v scale": {"formulation.normal_velocity_scale": 1},
    "no layer features": {"network.wall_features": False, "network.pattern_layer_features": False},
    "no corner points": {"points.n_interior": 1000, "points.wall_fraction": 0.5, "points.edge_fraction": 0.0},
    "no mirror symmetry": {"formulation.symmetry": "none"},
    "no v envelope": {"formulation.normal_velocity_envelope": 0.0},
    "+ flow polish": {"polish.steps": "quarter", "polish.dtype": "float64", "polish.blocks": "flow"},
    "random uniform points": {"points.uniform": "random"},
    "+ sections at edges": {"points.section_placement": "transitions"},
}
# Variants that change nothing on a straight channel (no wall pattern, no 2D recipe): run on
# the patterned case only.
PATTERN_ONLY = ("no pattern features", "no section terms", "no GN cap", "no ion-spread factor",
                "no v scale", "no layer features", "no corner points", "no mirror symmetry", "no v envelope",
                "+ flow polish", "random uniform points", "+ sections at edges")


def cases() -> dict:
    quick = load_case(REPO / "cases" / "quickstart.toml")
    straight = {f"straight ε={e:g} ζ̂={z:g}": case_from_problem(straight_problem(e, z, 1.0), name=f"eps{e}_zeta{z}",
                                                                  pinn=quick.pinn)
                for e, z in ((0.02, 4.0), (0.1, 1.0))}
    patterned = load_case(REPO / "cases" / "patterned_zeta.toml")
    return {**straight, "patterned_zeta": patterned}


def section_name(group: str, steps: int) -> str:
    """The RESULTS.md section of a case group's rows: "pinn_recipe" for the straight cells,
    "pinn_recipe_<case>" for a 2D case, with "_<N>_steps" where the runs were not of the default
    length. Each group has its own section (and figure), so that rerunning one group's runs
    replaces its rows and leaves the other's alone."""
    name = "pinn_recipe" if group == "straight" else f"pinn_recipe_{group}"
    return name if steps == DEFAULT_STEPS else f"{name}_{steps}_steps"


def history(run_dir: Path) -> tuple[list[float], list[float]]:
    """(training seconds, mean error) of a run's history rows."""
    with open(run_dir / "history.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("err_mean")]
    return [float(r["elapsed_s"]) for r in rows], [float(r["err_mean"]) for r in rows]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="steps per run")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all three)")
    parser.add_argument("--out", default=str(REPO / "validation" / "out" / "pinn_recipe"))
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads per run (0: the case's own); 1 to run two invocations side by side")
    parser.add_argument("--no-results-page", action="store_true")
    args = parser.parse_args(argv)
    pinn_study.use_threads(args.threads)
    out = Path(args.out)
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    rows, curves = [], {}
    wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
    for case_name, case in cases().items():
        if wanted and case_name not in wanted and case.name not in wanted:
            continue
        reference = pinn_study.reference_for(case, out / "references" / case.name)
        for variant in chosen:
            if variant in PATTERN_ONLY and case.problem.is_straight_channel:
                continue
            errors, times, v_errors, diverged = [], [], [], []
            for seed in range(args.seeds):
                changes = {"seed": seed, "steps": args.steps, **VARIANTS[variant]}
                if args.threads:
                    changes["threads"] = args.threads
                share = {"fifth": 5, "quarter": 4}.get(changes.get("polish.steps"))
                if share:
                    changes["polish.steps"] = args.steps // share
                run_dir = out / case.name / variant.replace(" ", "_").replace("+", "plus").replace(".", "") / f"seed{seed}"
                row = pinn_study.run_pinn(case, changes, reference, run_dir)
                errors.append(row["err_mean"])
                v_errors.append(row.get("err_v", math.nan))
                times.append(row.get("train_s", math.nan))
                if math.isfinite(row["err_mean"]):
                    curves[(case_name, variant, seed)] = history(run_dir)
                else:
                    diverged.append(f"seed {seed}: {row['status'].split(';')[0]}")
                print(f"{case_name} | {variant} | seed {seed}: mean {row['err_mean']:.2e} ({row['status']})", flush=True)
            rows.append({"case": case_name, "group": "straight" if case.problem.is_straight_channel else case.name,
                         "variant": variant, "median error": float(np.median(errors)),
                         "seeds": " / ".join(f"{e:.1e}" for e in errors), "errors": [float(e) for e in errors],
                         "median v error": float(np.median(v_errors)),
                         "train s": float(np.median(times)), "diverged": diverged})
    for group in dict.fromkeys(r["group"] for r in rows):
        section = section_name(group, args.steps)
        shown = [r for r in rows if r["group"] == group]
        (out / f"{section}.json").write_text(json.dumps(shown, indent=2))
        figure = out / f"{section}.png"
        names = {r["case"] for r in shown}
        _plot({key: curve for key, curve in curves.items() if key[0] in names}, shown, chosen, figure)
        table = markdown_table(shown, ["case", "variant", "median error", "seeds", "median v error", "train s"],
                               {"median error": ".2e", "median v error": ".1e", "train s": ".0f"})
        print(table)
        if args.no_results_page:
            continue
        body = (f"Leave-one-out ablation of the PINN recipe: {args.steps} steps per run (+ polish: the last fifth; + flow polish: the last quarter), "
                f"{args.seeds} seed(s), mean relative L2 over (φ, c₊, c₋, u) against the exact solution "
                "(straight cells) or FD (patterned_zeta); median v error: v's relative L2, the field the 2D cases miss; train s: the training time each run recorded when it ran (finished runs are skipped, so their load is that of their own invocation). Figure: "
                f"{shown_path(figure)} (error against training time).\n\n" + table)
        failures = [f"{r['case']} / {r['variant']}, {d}" for r in shown for d in r["diverged"]]
        if failures:
            body += "\n\nDiverged runs (inf above):\n\n" + "\n".join(f"- {f}" for f in failures)
        write_section(section, "python validation/pinn_recipe.py " + " ".join(argv or sys.argv[1:]), body)
    return rows


def _plot(curves: dict, rows: list[dict], variants: list[str], path: Path) -> None:
    """One column per case: above, the error of the logged iterates against training time (each
    variant its own colour and line style, seed 0 thick, seed 1 thin); below, each variant's final
    error per seed, sorted by their median, with the recipe's seeds as a shaded band (a lever
    whose seeds both fall outside it moved the error beyond the recipe's own scatter)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    case_names = list(dict.fromkeys(r["case"] for r in rows))
    n = max(len(case_names), 1)
    height = 0.2 * max(sum(r["case"] == c for r in rows) for c in case_names) + 1.0 if rows else 3.0
    fig, axes = plt.subplots(2, n, figsize=(max(5.5 * n, 11.0), 4.6 + height), squeeze=False,
                             gridspec_kw={"height_ratios": (4.6, height)})
    styles = ("-", "--", ":")  # ten colours, then the next line style: each variant its own look
    look = {variant: dict(color=f"C{i % 10}", ls=styles[(i // 10) % len(styles)]) for i, variant in enumerate(variants)}
    labels = {}
    for ax, case_name in zip(axes[0], case_names):
        for variant in variants:
            for (c, v, seed), (t, e) in curves.items():
                if c == case_name and v == variant:
                    line, = ax.semilogy(t, e, lw=1.5 if seed == 0 else 0.7, **look[variant])
                    if seed == 0:
                        labels.setdefault(variant, line)
        ax.set_title(case_name)
        ax.set_xlabel("training time [s]")
        ax.set_ylabel("mean relative L2 (logged iterates)")
        ax.grid(alpha=0.3, which="both")
    for ax, case_name in zip(axes[1], case_names):
        shown = sorted((r for r in rows if r["case"] == case_name), key=lambda r: r["median error"])
        for k, r in enumerate(shown):
            finals = [float(e) for e in r["errors"] if math.isfinite(e)]  # a diverged run: none
            ax.semilogx(finals, [k] * len(finals), "o", ms=4, color=look[r["variant"]]["color"], alpha=0.8)
            if r["variant"] == "recipe" and finals:
                ax.axvspan(min(finals), max(finals), color="0.85", zorder=0)
        ax.set_yticks(range(len(shown)), [r["variant"] for r in shown], fontsize=7)
        ax.set_ylim(len(shown) - 0.5, -0.5)
        ax.set_xlabel("final mean relative L2 (each seed; shaded: the recipe's seeds)")
        ax.grid(alpha=0.3, which="both", axis="x")
    fig.legend(list(labels.values()), list(labels), loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=5,
               fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    save_figure(fig, path, dpi=110)


if __name__ == "__main__":
    pinn_study.run_script(main)
