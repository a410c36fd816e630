"""Command line: `eofpinn info | solve | validate | ensemble | sweep | diagnose | plot | cases | new`
(thin: parse, call, print)."""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import warnings
from pathlib import Path

from eofpinn.errors import EofpinnError



def _info(args: argparse.Namespace) -> int:
    case = _load(args)
    s = case.scalings
    keys = (
        "debye_length_m", "debye_ratio", "thermal_voltage_V", "velocity_scale_m_s", "pressure_scale_Pa",
        "peclet", "reynolds", "zeta_hat", "field_hat", "length_ratio",
    )
    if args.json:
        payload = s.as_dict()
        payload.update({"case": case.name, "warnings": list(case.warnings)})
        print(json.dumps({k: payload[k] for k in ("case", *keys, *sorted(set(payload) - set(keys) - {"case"}))},
                         indent=2))
        return 0
    p = case.problem
    rows = [
        ("case", case.name + (" (dimensionless input)" if case.dimensionless_input else "")),
        ("description", case.description),
        ("channel height H", f"{s.height_m * 1e9:.4g} nm"),
        ("channel length L", f"{s.length_m * 1e9:.4g} nm   (ℓ = L/H = {s.length_ratio:.4g})"),
        ("Debye length λ_D", f"{s.debye_length_m * 1e9:.4g} nm"),
        ("Debye ratio ε = λ_D/H", f"{s.debye_ratio:.4g}"),
        ("thermal voltage V_T", f"{s.thermal_voltage_V * 1e3:.4g} mV"),
        ("velocity scale U0", f"{s.velocity_scale_m_s:.4g} m/s"),
        ("pressure scale P0", f"{s.pressure_scale_Pa:.4g} Pa"),
        ("Péclet Pe", f"{s.peclet:.4g}"),
        ("Reynolds Re", f"{s.reynolds:.4g}"),
        ("electrolyte", _electrolyte_line(case)),
        ("ζ̂ bottom wall", ", ".join(f"{z.zeta_hat:.4g}" for z in p.zeta_bottom)),
        ("ζ̂ top wall", ", ".join(f"{z.zeta_hat:.4g}" for z in p.zeta_top)),
        *_segment_rows(case),
        ("zeta transition width", f"{p.zeta_transition * s.height_m * 1e9:.4g} nm   "
                                  f"(w/λ_D = {p.zeta_transition / p.debye_ratio:.3g}; patterned walls only)"),
        ("field E, Ê", "open circuit: E fixed by zero net current (current = 0 A)" if p.open_circuit
         else f"{s.field_V_m:.4g} V/m, Ê = {s.field_hat:.4g}"),
        ("pressure drop Δp̂", f"{p.pressure_drop_hat:.4g}"),
        ("Helmholtz–Smoluchowski u", ", ".join(f"{u * 1e3:.4g} mm/s" for u in s.helmholtz_smoluchowski_m_s)),
        ("model", f"{p.equations}, ion walls {p.ion_wall}, ends {p.ends}"),
        ("PINN recipe", _recipe_line(case)),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0


def _recipe_line(case) -> str:
    """What [pinn] recipe adds to this case: 'auto: adds points.balance_sections = 16, …'."""
    from eofpinn.cases.pinn_settings import CROWDED_LAYER_RECIPE, counter_ion_crowding, recipe_additions

    if case.pinn.recipe == "none":
        return "none (the [pinn] keys the case gives, else the defaults)"
    added = recipe_additions(case.pinn, case.pinn_given or {}, case.problem)
    if case.pinn.polish.steps == 0:  # the polish's dtype and blocks act only in a polish
        added = {key: value for key, value in added.items() if key not in ("polish.dtype", "polish.blocks")}
    if not added:
        return "auto: adds nothing " + ("(a straight channel)" if case.problem.is_straight_channel
                                       else "(the case gives those keys itself)")
    shown = ", ".join(f"{key} = {json.dumps(value)}" for key, value in added.items())
    crowded = (f"; a counter-ion {counter_ion_crowding(case.problem):.0f}× its bulk at a wall"
               if any(key in added for key in CROWDED_LAYER_RECIPE) else "")
    return f"auto: adds {shown} (walls that change along x{crowded}; docs/case-files.md \"[pinn]\")"


def _electrolyte_line(case) -> str:
    """"1:-1 salt, c_s = 10 mM (c₊ = 10 mM, c₋ = 10 mM)"."""
    from eofpinn.cases.ranges import format_si

    e, s = case.electrolyte, case.scalings
    molar = [format_si(float(f"{c / 1000.0:.12g}"), "M") for c in (e.concentration_mol_m3, s.concentration_plus_mol_m3,
                                                  s.concentration_minus_mol_m3)]
    return f"{e.valence_plus}:{-e.valence_minus} salt, c_s = {molar[0]} (bulk c₊ = {molar[1]}, c₋ = {molar[2]})"


def _segment_rows(case) -> list[tuple[str, str]]:
    """One row per wall segment: its position, the σ given (or the Grahame σ of its ζ), the ζ
    given (or the Grahame ζ of its σ) and its Dukhin number (physics.md §7)."""
    from eofpinn.cases.ranges import format_si

    s, p = case.scalings, case.problem
    rows, k = [], 0
    for wall in ("bottom", "top"):
        for seg in p.zeta_segments(wall):
            sigma, zeta, dukhin = s.surface_charge_C_m2[k], s.zeta_hat[k] * s.thermal_voltage_V, s.dukhin_number[k]
            k += 1
            where = f"[{format_si(seg.x_start * s.height_m, 'm')}, {format_si(seg.x_end * s.height_m, 'm')})"
            if seg.is_charge:
                text = f"σ = {sigma * 1e3:.4g} mC/m^2 (given), ζ = {zeta * 1e3:.4g} mV (Grahame)"
            else:
                text = f"ζ = {zeta * 1e3:.4g} mV (given), σ = {sigma * 1e3:.4g} mC/m^2 (Grahame)"
            rows.append((f"{wall} wall {where}", f"{text}, Du = {dukhin:.3g}"))
    return rows


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    from eofpinn.cases import parse_overrides

    return parse_overrides(getattr(args, "set", None))


def _load(args: argparse.Namespace):
    from eofpinn.api import PINN_SHORTCUTS
    from eofpinn.cases import load_with_overrides, parse_setting_overrides, with_settings

    case = load_with_overrides(args.case, _overrides(args))
    # The PINN's flags (--steps, --seed, ...) join the --set changes, so that the settings are
    # checked once with all of them (`--steps 9000 --set pinn.polish.steps=8000` is a valid run).
    given = PINN_SHORTCUTS.items() if getattr(args, "solver", None) == "pinn" else ()
    flags = {key: getattr(args, name) for name, key in given if getattr(args, name, None) is not None}
    case = with_settings(case, {**parse_setting_overrides(getattr(args, "set", None)), **flags})
    for message in case.warnings:
        print(f"warning: {message}", file=sys.stderr)
    return case


def _solve(args: argparse.Namespace) -> int:
    from eofpinn import api, io, plots, runs

    case = _load(args)
    with runs.open_run(args, case, _run_settings(case, args)) as run:  # lock, run.json, --resume checks, signals
        out_dir = run.dir
        solution = api.solve(case, args.solver, **_solver_options(args, run))
        solution.info["overrides"] = _overrides(args)
        written = io.write_run(solution, out_dir)
        written += plots.plot_run(solution, out_dir)
    print(f"{args.solver} solution of {case.name} written to {out_dir}/: " + ", ".join(p.name for p in written))
    from eofpinn.physics.observables import observable_lines, observables

    for line in observable_lines(observables(solution)):
        print(f"  {line}")
    if args.solver == "pinn":  # what a PINN run keeps by itself (FD conserves its own fluxes exactly)
        from eofpinn.validation.compare import balances
        from eofpinn.validation.report import balance_line

        print(f"  {balance_line(balances(solution))}")
    return 0


def _solver_options(args: argparse.Namespace, run) -> dict:
    """The flags given, as `api.solve` options; a flag the solver does not take is refused there."""
    from eofpinn.api import PINN_SHORTCUTS

    options = {"nx": args.nx, "ny": args.ny, "reference": args.reference, "init": args.init}
    options.update({name: getattr(args, name) for name in PINN_SHORTCUTS})
    if args.solver == "fd":
        options["progress"] = _print_progress
    if args.solver == "pinn":
        options.update(out_dir=run.dir, resume=run.dir if run.resume else None, stop=run.stop)
    return options


def _run_settings(case, args: argparse.Namespace) -> dict:
    """The settings the chosen solver runs with (recorded in run.json)."""
    from eofpinn.api import PINN_SHORTCUTS
    from eofpinn.runs import solver_settings

    return solver_settings(case, args.solver, {name: getattr(args, name) for name in ("nx", "ny", *PINN_SHORTCUTS)})


def _print_progress(line: str) -> None:
    """FD progress: one line per grid level and Newton step, on stderr (stdout stays the result)."""
    print(f"fd {line}", file=sys.stderr, flush=True)




def _validate(args: argparse.Namespace) -> int:
    from eofpinn import io, runs
    from eofpinn.validation.report import exact_reference, format_report, validate

    solution = io.read_run(args.run_dir)
    exact = solution.case.problem.is_straight_channel
    if args.reference == "exact" and not exact:
        raise EofpinnError(f"validate {args.run_dir}: --reference exact: this case's walls change along x, and only a "
                           "straight channel has an exact solution (physics.md §4); give --reference DIR (a run of "
                           "the same case, e.g. FD), or leave --reference out for the balances alone")
    if args.reference == "none" or (args.reference is None and not exact):
        reference = None
    elif args.reference in (None, "exact"):
        reference = exact_reference(solution)
    else:
        reference = io.read_run(args.reference)
        runs.require_same_problem(solution.case.problem, reference.case.problem, args.run_dir, args.reference)
    report = validate(solution, reference, Path(args.run_dir))
    print(format_report(report))
    figures = "balances.png" + ("" if reference is None else ", comparison.png, profiles_comparison.png")
    print(f"wrote {args.run_dir}/validation.json, {figures}")
    return 0


def _ensemble(args: argparse.Namespace) -> int:
    from eofpinn.ensemble import report_lines, write_ensemble

    written, report = write_ensemble(args.runs, args.out)
    print(f"mean of {len(report['members'])} PINN runs (seeds {', '.join(map(str, report['seeds']))}); "
          "spread = ‖member std‖ / ‖mean‖, std. error = spread / √N (seeds' shared bias not included):")
    for line in report_lines(report):
        print(f"  {line}")
    print(f"wrote {args.out}/: " + ", ".join(p.name for p in written))
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from eofpinn import studies

    study = studies.plan_study(
        args.case, args.solver, args.out, params=args.param or [], grid=args.grid, sets=args.set or [],
        options={"nx": args.nx, "ny": args.ny, "steps": args.steps, "device": args.device},
        optimizers=args.optimizer, weightings=args.weighting, seeds=args.seeds, plots=args.run_plots)
    slurm = {"queue": args.queue, "account": args.account, "cores": args.cores, "memory": args.memory,
             "walltime": args.walltime}
    result = studies.run_study(study, args.out, scheduler=args.scheduler, jobs=args.jobs, cluster_flags=slurm)
    print(result.table)
    print(f"wrote {args.out}/: " + ", ".join(os.path.relpath(p, args.out) for p in result.files))
    return 0 if result.complete else 1


def _diagnose(args: argparse.Namespace) -> int:
    from eofpinn.solvers.pinn import diagnose

    if args.steps < 1:
        raise EofpinnError(f"diagnose --steps must be an integer ≥ 1; got {args.steps}")
    every = args.every if args.every is not None else min(diagnose.DEFAULT_EVERY, args.steps)
    if not 1 <= every <= args.steps:
        raise EofpinnError(f"diagnose --every must be an integer in [1, --steps = {args.steps}]; got {every}")
    if args.seed is not None and args.seed < 0:
        raise EofpinnError(f"diagnose --seed must be an integer ≥ 0; got {args.seed}")
    case = _load(args)
    if args.write_case:
        diagnose.check_case_target(case, Path(args.write_case))  # refuse before a long run
    if args.set and args.write_case:
        print("warning: --set changes are not written into --write-case (only the recommended [pinn] settings are)",
              file=sys.stderr)
    profile = diagnose.profile_case(case, args.steps, every, args.seed, progress=sys.stderr.isatty())
    result = diagnose.diagnose(profile)
    figure = diagnose.plot_diagnosis(result, Path(args.figure or f"{case.name}_diagnose.png"))
    written = diagnose.write_recommended_case(case, Path(args.write_case), result.recommendation) \
        if args.write_case else None
    if args.json:
        payload = {**result.as_json(), "figure": str(figure), "written_case": str(written) if written else None}
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    print(diagnose.format_report(result))
    print(f"\nwrote {figure}" + (f", {written} (balancing and adapters as recommended)" if written else ""))
    return 0


def _plot(args: argparse.Namespace) -> int:
    from eofpinn import io, plots

    from eofpinn.render import render_run

    solution = io.read_run(args.run_dir)
    written = plots.plot_run(solution, args.run_dir)
    rendered, note = render_run(args.run_dir)
    written += [rendered] if rendered else []
    print("wrote " + ", ".join(str(p) for p in written))
    if rendered is None:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _cases(args: argparse.Namespace) -> int:
    from eofpinn.cases.shipped import description, shipped_cases

    cases = shipped_cases()
    width = max(len(name) for name in cases)
    for name, path in cases.items():
        print(f"{name:<{width}}  {description(path)}")
    return 0


def _new(args: argparse.Namespace) -> int:
    from eofpinn.cases import load_case
    from eofpinn.cases.template import case_template

    path = Path(args.name if args.name.endswith(".toml") else args.name + ".toml")
    if not path.stem or path.stem.startswith("."):
        raise EofpinnError(f"new {args.name!r}: NAME must be a file name such as my_channel (writes my_channel.toml)")
    if path.exists():
        raise EofpinnError(f"{path}: exists; choose another NAME or remove the file (eofpinn new never overwrites)")
    if not path.parent.is_dir():
        raise EofpinnError(f"{path.parent}: no such directory; create it first or choose another NAME")
    source = load_case(args.source)
    origin = f"the shipped case {args.source}" if source.source != args.source else source.source
    path.write_text(case_template(source, path.stem, origin), encoding="utf-8")
    print(f"wrote {path} (from {args.source}); check it with: eofpinn info {path}")
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from eofpinn import __version__
    from eofpinn.api import DEFAULT_SOLVER, SOLVERS
    from eofpinn.cases.pinn_settings import DEVICES

    parser = _Parser(prog="eofpinn", description="Electroosmotic flow with resolved double layers.")
    parser.add_argument("--version", action="version", version=f"eofpinn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="print a case's derived scalings")
    info.add_argument("case", help="a case file, or the name of a shipped case (eofpinn cases)")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.add_argument("--set", action="append", metavar="NAME=VALUE",
                      help="a change as in eofpinn solve --set (the scalings and the PINN recipe line show it); "
                           "repeatable")
    info.set_defaults(run=_info)

    solve = sub.add_parser("solve", help="solve a case and write fields.npz, fields.vts, summary.json, PNGs")
    solve.add_argument("case", help="a case file, or the name of a shipped case (eofpinn cases)")
    solve.add_argument("--solver", choices=SOLVERS, default=DEFAULT_SOLVER,
                       help=f"default: {DEFAULT_SOLVER} (finite differences, any case); exact: straight channels "
                            "only (one uniform zeta); pinn: train networks")
    solve.add_argument("--out", help="run directory (refused if it exists, unless --force; "
                                     "with --resume: omit it, or give the resumed DIR)")
    solve.add_argument("--force", action="store_true",
                       help="overwrite an existing run directory (with --resume: continue a finished run)")
    solve.add_argument("--nx", type=int, help="grid points along the channel (fd: default [fd] nx; exact: 41)")
    solve.add_argument("--ny", type=int, help="grid points across the channel (fd: default [fd] ny; exact: 201)")
    solve.add_argument("--set", action="append", metavar="NAME=VALUE",
                       help="override a case-file key by its TOML path, in its own units "
                            "(electrolyte.concentration=0.1mM, walls.bottom=-25mV, fd.nx=33), a dimensionless "
                            "parameter (debye_ratio, zeta_hat, field_hat, peclet, pressure_drop_hat, length_ratio) "
                            "or a PINN setting (pinn.optimizer.learning_rate=1e-3, pinn.network.width=32); repeatable")
    pinn = solve.add_argument_group("PINN options (defaults from the case's [pinn] section)")
    pinn.add_argument("--device", choices=DEVICES)
    pinn.add_argument("--steps", type=int)
    pinn.add_argument("--optimizer", metavar="NAME",
                      help="[pinn.optimizer] name: a registered optimiser (an unknown name lists them)")
    pinn.add_argument("--weighting", metavar="NAME",
                      help="[pinn.balancing] name: a registered loss balancer (an unknown name lists them)")
    pinn.add_argument("--seed", type=int)
    pinn.add_argument("--resume", metavar="DIR", help="continue the PINN run checkpointed in DIR, in DIR itself")
    pinn.add_argument("--reference", metavar="DIR", help="run directory of a reference solution (e.g. FD)")
    pinn.add_argument("--init", metavar="DIR", help="start from the networks of the PINN run in DIR, and from its loss "
                                                   "weights where both runs use the same balancer (a warm start, "
                                                   "e.g. from an easier case; same [pinn.network] settings)")
    solve.set_defaults(run=_solve)

    check = sub.add_parser("validate", help="errors vs a reference, balances, comparison figures")
    check.add_argument("run_dir")
    check.add_argument("--reference", metavar="DIR|exact|none",
                       help="a reference run directory, 'exact' (straight channels), or 'none' (the balances "
                            "alone); default: exact for a straight channel, none otherwise")
    check.set_defaults(run=_validate)

    mean = sub.add_parser("ensemble", help="the mean of finished PINN runs that differ only in their seed, "
                                           "and their spread (an error indicator without a reference)")
    mean.add_argument("runs", nargs="+", metavar="RUN",
                      help="run directories of `eofpinn solve CASE --solver pinn --seed S`")
    mean.add_argument("--out", required=True, help="a new directory for the mean run (never overwritten)")
    mean.set_defaults(run=_ensemble)

    grid = sub.add_parser("sweep", help="a parameter study of any solver on a Dask cluster (resumable): "
                                         "sweep.csv/json, plots, sweep.pvd")
    grid.add_argument("case", help="a case file, or the name of a shipped case (eofpinn cases)")
    grid.add_argument("--solver", choices=SOLVERS, default=DEFAULT_SOLVER, help=f"default: {DEFAULT_SOLVER}")
    grid.add_argument("--param", action="append", metavar="KEY=V1,V2,...",
                      help="an axis: a case-file key by its TOML path, values in its units "
                           "(electrolyte.concentration=0.01mM,0.1mM; walls.bottom=-25mV,-50mV), a dimensionless "
                           "parameter (debye_ratio=0.2,0.1) or a PINN setting "
                           "(pinn.optimizer.learning_rate=1e-3,3e-3); "
                           "repeatable: the runs are the cartesian product")
    grid.add_argument("--grid", metavar="STUDY.toml",
                      help="a study file: [axes] (a product, like --param), [[zip]] (keys that vary together) "
                           "and [cluster] (Slurm settings)")
    grid.add_argument("--set", action="append", metavar="KEY=VALUE",
                      help="a change for every run, as in eofpinn solve --set; repeatable")
    grid.add_argument("--out", required=True, help="sweep directory (reused: finished runs are skipped, "
                                                   "interrupted PINN runs resumed)")
    grid.add_argument("--nx", type=int, help="fd/exact: grid points along the channel")
    grid.add_argument("--ny", type=int, help="fd/exact: grid points across the channel")
    grid.add_argument("--run-plots", action="store_true",
                      help="also draw each run's fields.png and profiles.png (seconds per run; eofpinn plot RUN "
                           "draws them later)")
    method = grid.add_argument_group("PINN method comparison (--solver pinn; defaults from the case's [pinn])")
    method.add_argument("--optimizer", metavar="NAMES", help="comma-separated registered optimisers: soap,adam")
    method.add_argument("--weighting", metavar="NAMES", help="comma-separated registered balancers: gn,none,lra")
    method.add_argument("--seeds", type=int, help="runs with seeds 0 … N−1 for every configuration")
    method.add_argument("--steps", type=int, help="override the case's [pinn] steps")
    method.add_argument("--device", choices=DEVICES)
    where = grid.add_argument_group("where the runs execute (dask.distributed)")
    where.add_argument("--scheduler", default="local", metavar="local|tcp://HOST:PORT|slurm",
                       help="local: a LocalCluster on this machine (default); tcp://HOST:PORT: an existing "
                            "dask scheduler; slurm: dask-jobqueue's SLURMCluster (pip install 'eofpinn[slurm]')")
    where.add_argument("--jobs", type=int, help="local: worker processes, one run at a time each (default: one "
                                                "per GPU for PINN sweeps, else one per two cores); slurm: batch "
                                                "jobs (default: [cluster] jobs, else 1)")
    where.add_argument("--queue", help="slurm partition (else [cluster] queue, else Slurm's default)")
    where.add_argument("--account", help="slurm account (else [cluster] account)")
    where.add_argument("--cores", type=int, help="slurm: CPU cores per job (else [cluster] cores)")
    where.add_argument("--memory", help="slurm: memory per job, e.g. 16GB (else [cluster] memory)")
    where.add_argument("--walltime", help="slurm: time limit per job, e.g. 02:00:00 (else [cluster] walltime)")
    grid.set_defaults(run=_sweep)

    diag = sub.add_parser("diagnose", help="profile the gradient conflict of a case's PINN run; recommend gn, "
                                           "adapters+gn or none (arXiv 2605.10136)")
    diag.add_argument("case", help="a case file, or the name of a shipped case (eofpinn cases)")
    diag.add_argument("--steps", type=int, default=1000, help="steps of the profile run (default 1000)")
    diag.add_argument("--every", type=int, help="steps between diagnostics rows (default 20)")
    diag.add_argument("--seed", type=int, help="network and point seed (default: the case's [pinn] seed)")
    diag.add_argument("--set", action="append", metavar="NAME=VALUE",
                      help="as for solve: a dimensionless parameter or a dotted [pinn] key; repeatable")
    diag.add_argument("--json", action="store_true", help="machine-readable output")
    diag.add_argument("--figure", metavar="PNG", help="figure of cosines and gradient norms over the steps "
                                                      "(default CASE_diagnose.png)")
    diag.add_argument("--write-case", metavar="OUT.toml",
                      help="write a copy of the case file with the recommended [pinn.balancing] name and "
                           "[pinn.network] adapters (never overwrites)")
    diag.set_defaults(run=_diagnose)

    plot = sub.add_parser("plot", help="field maps and wall-normal profiles of a run directory (PNG)")
    plot.add_argument("run_dir")
    plot.set_defaults(run=_plot)

    cases = sub.add_parser("cases", help="list the shipped cases (a name works wherever a case file does)")
    cases.set_defaults(run=_cases)

    new = sub.add_parser("new", help="write a commented case file NAME.toml to edit (never overwrites)")
    new.add_argument("name", metavar="NAME", help="the case's name; writes NAME.toml")
    new.add_argument("--from", dest="source", default="straight_channel", metavar="CASE",
                     help="start from this case file or shipped case (default: straight_channel)")
    new.set_defaults(run=_new)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        # Each distinct warning once per command (catch_warnings forgets what was shown when the
        # command ends). A sweep's own workers collect theirs and the sweep reports each once
        # (studies.cluster.CollectWarnings).
        warnings.simplefilter("default")
        # A library's deprecation notices are for its developers, not for ours (torch.compile's
        # first call imported one that printed 14 lines before every compiled PINN run).
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.formatwarning = lambda message, category, *rest: f"warning: {message}\n"
        try:
            code = args.run(args)
            sys.stdout.flush()  # inside the try: a closed pipe is met here when stdout is buffered
            return code
        except EofpinnError as exc:
            print(f"eofpinn: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except BrokenPipeError:
            if not _stdout_reader_gone():
                raise  # a pipe other than our output (a worker's, a socket): not the user's `| head`
            return _reader_gone()


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (poll reports an error on
    the write end then); False where that cannot be asked."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or stdout without a descriptor
        return False


def _reader_gone() -> int:
    """The reader of our standard output left (`eofpinn cases | head -3`): stop quietly, as a
    Unix tool does on SIGPIPE, with its exit status 141. Standard output is pointed at /dev/null
    so that the interpreter's last flush of the dead pipe does not print a traceback either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # 128 + SIGPIPE (13), what a shell reports for a writer killed by a closed pipe


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
