"""What a parameter study runs: its axes, and one `RunSpec` per run of their product.

An axis is one key and the values it takes:

- a case-file key by its TOML path, values as the file would write them, in the key's own
  units (`electrolyte.concentration=0.01mM,0.1mM`, `walls.bottom=-25mV,-50mV`, `fd.nx=33,65`):
  each run's case is the file with that key replaced, validated by the loader like the file
  itself (`eofpinn.cases.load_with_overrides`);
- a dimensionless parameter by name (`debye_ratio=0.2,0.1`; `cases.OVERRIDABLE`), as `--set`;
- a PINN setting (`pinn.optimizer.learning_rate=1e-3,3e-3`), as `--set pinn.…`.

Axes come from `--param KEY=V1,V2,...` (repeatable) and from a study file (`--grid`):

    [axes]                                   # the cartesian product, like --param
    "electrolyte.concentration" = ["0.01 mM", "0.1 mM", "1 mM"]

    [[zip]]                                  # these vary together: one run per position
    "walls.bottom" = ["-25 mV", "-50 mV"]
    "walls.top" = ["-25 mV", "-50 mV"]

    [cluster]                                # --scheduler slurm (eofpinn.studies.cluster)
    queue = "gpu"

The runs are the product of every axis and zip group; PINN sweeps multiply that by the method
comparison (`--optimizer`, `--weighting`, `--seeds`). Every run's case and options are
validated here, before any worker starts, so a bad key, unit or value is one line naming the
flag (or the study file) and the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from eofpinn.cases import (
    OVERRIDABLE,
    Case,
    check_override,
    load_with_overrides,
    parse_setting_overrides,
    parse_value,
    with_settings,
)
from eofpinn.cases.loader import tomllib
from eofpinn.errors import CaseError, EofpinnError

SETTINGS_PREFIX = "pinn."
STUDY_SECTIONS = ("axes", "zip", "cluster")
PINN_FLAGS = ("steps", "device", "optimizer", "weighting", "seed")  # api.PINN_SHORTCUTS, as sweep options
KEY_HINT = ("a case-file key by its TOML path (e.g. electrolyte.concentration, walls.bottom, channel.height), "
            f"a dimensionless parameter ({', '.join(OVERRIDABLE)}) "
            "or a PINN setting (e.g. pinn.optimizer.learning_rate)")


@dataclasses.dataclass(frozen=True)
class Axis:
    """One swept key, its values (as given) and where it was given (for error messages)."""

    key: str
    values: tuple
    source: str  # "--param" or the study file's path


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a study: everything a worker needs to run it (picklable, no open files).

    `overrides` are the case changes (TOML paths and dimensionless names, as recorded in
    run.json and summary.json), `settings` the [pinn] changes (dotted keys inside [pinn]),
    `options` the `eofpinn.solve` options, `parameters` what this run's row shows of the axes.
    """

    name: str
    case: str
    solver: str
    run_dir: str
    overrides: dict[str, Any]
    settings: dict[str, Any]
    options: dict[str, Any]
    parameters: dict[str, Any]
    sources: dict[str, str]
    plots: bool = False

    def load(self) -> Case:
        """The run's case: the case file with the overrides and [pinn] changes applied."""
        case = load_with_overrides(self.case, self.overrides, self.sources)
        for key, value in self.settings.items():
            case = with_settings(case, {key: value}, self.sources.get(SETTINGS_PREFIX + key, "--set"))
        return case

    @property
    def method(self) -> str:
        """optimizer+weighting of a PINN run (the method-comparison table groups by it)."""
        return f"{self.parameters.get('optimizer', '')}+{self.parameters.get('weighting', '')}"


@dataclasses.dataclass(frozen=True)
class Study:
    """A planned sweep: the case, the solver, the swept keys (in order) and the runs."""

    case: str
    solver: str
    keys: tuple[str, ...]
    runs: tuple[RunSpec, ...]
    cluster: dict[str, Any]  # the study file's [cluster] section (checked by eofpinn.studies.cluster)
    grid: str | None = None  # the study file, if any (named by errors about [cluster])


# ---------------------------------------------------------------------------- axes
def key_kind(key: str, source: str = "--param") -> str:
    """"setting" (pinn.…), "case" (a TOML path) or "dimensionless" (a name of OVERRIDABLE)."""
    if key.startswith(SETTINGS_PREFIX):
        return "setting"
    if "." in key:
        return "case"
    if key in OVERRIDABLE:
        return "dimensionless"
    raise EofpinnError(f"{source} {key}: unknown parameter; give {KEY_HINT}")


def split_values(text: str) -> list[str]:
    """'a,b,[1, 2],"x, y"' → ['a', 'b', '[1, 2]', '"x, y"']: commas inside brackets or quotes stay."""
    items, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def _checked_values(key: str, values: Iterable[Any], source: str) -> tuple:
    """Dimensionless parameters take numbers within their range (as --set); other keys are
    checked when each run's case is loaded."""
    if key_kind(key, source) != "dimensionless":
        return tuple(values)
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CaseError(source, key, f"takes numbers; got {value!r}")
        out.append(check_override(key, value, source))
    return tuple(out)


def parse_param(text: str) -> Axis:
    """'--param KEY=V1,V2,...' → an Axis; values are TOML values (numbers, lists) or plain text
    ("0.1mM", "-25 mV"); dimensionless names take numbers within their range."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise EofpinnError(f"--param {text!r}: expected KEY=V1,V2,... (e.g. electrolyte.concentration=0.1mM,1mM "
                           "or debye_ratio=0.2,0.1)")
    kind = key_kind(key)
    items = split_values(values)
    if not items:
        raise EofpinnError(f"--param {text!r}: no values; expected NAME=V1,V2,..., e.g. {key}=0.2,0.1")
    if kind == "dimensionless":
        try:
            parsed = [float(item) for item in items]
        except ValueError:
            raise EofpinnError(f"--param {text!r}: {key} takes numbers (a dimensionless parameter)") from None
    else:
        parsed = [parse_value(item) for item in items]
    return Axis(key, _checked_values(key, parsed, "--param"), "--param")


def _flatten_axes(table: Mapping[str, Any], where: str, source: str, prefix: str = "") -> dict[str, list]:
    """{"electrolyte": {"concentration": [...]}} or {"electrolyte.concentration": [...]} → dotted
    keys with their lists of values."""
    out = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(_flatten_axes(value, where, source, key + "."))
        elif isinstance(value, list) and value:
            out[key] = value
        else:
            raise CaseError(source, f"{where}.{key}", f"must be a non-empty list of values, e.g. "
                                                      f'["0.1 mM", "1 mM"]; got {value!r}')
    return out


def read_study_file(path: str | Path) -> tuple[list[tuple[Axis, ...]], dict[str, Any]]:
    """A study file's axes (each a group of one, or of several zipped axes) and its [cluster]."""
    source = str(path)
    path = Path(path)
    if not path.is_file():
        raise CaseError(source, "file", "study file not found (--grid)")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CaseError(source, "file", f"is not a readable TOML study file: {exc}") from None
    for name in doc:
        if name not in STUDY_SECTIONS:
            raise CaseError(source, name, f"unknown section; allowed: {', '.join(STUDY_SECTIONS)}")
    axes = doc.get("axes", {})
    if not isinstance(axes, dict):
        raise CaseError(source, "axes", "must be a table ([axes] with KEY = [values])")
    groups = [(Axis(key, _checked_values(key, values, source), source),)
              for key, values in _flatten_axes(axes, "axes", source).items()]
    zips = doc.get("zip", [])
    if not isinstance(zips, list) or not all(isinstance(z, dict) for z in zips):
        raise CaseError(source, "zip", "must be an array of tables ([[zip]] with KEY = [values] lines)")
    for i, table in enumerate(zips):
        flat = _flatten_axes(table, f"zip[{i}]", source)
        lengths = {key: len(values) for key, values in flat.items()}
        if len(set(lengths.values())) > 1:
            given = ", ".join(f"{key} has {n}" for key, n in lengths.items())
            raise CaseError(source, f"zip[{i}]", f"zipped lists must have the same length; {given}")
        if flat:
            groups.append(tuple(Axis(key, _checked_values(key, values, source), source)
                                for key, values in flat.items()))
    cluster = doc.get("cluster", {})
    if not isinstance(cluster, dict):
        raise CaseError(source, "cluster", "must be a table ([cluster] with queue, cores, memory, walltime, jobs)")
    return groups, cluster


# ---------------------------------------------------------------------------- runs
def _slug(value: Any) -> str:
    """A value as part of a directory name: 0.2 → "0.2", "-25 mV" → "-25mV", "50 kV/m" → "50kV_m"."""
    if isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"))
    return re.sub(r"[^A-Za-z0-9.+\-=,]", "_", re.sub(r"\s+", "", text)) or "_"


def run_name(parameters: Mapping[str, Any], pinn_method: tuple[str, str, int] | None) -> str:
    """The run's directory name: KEY=VALUE parts joined by "_" (PINN runs end in
    _OPTIMIZER_WEIGHTING_seedN, as the first sweeps named them); long names end in a hash."""
    parts = [f"{key}={_slug(value)}" for key, value in parameters.items()]
    if pinn_method is not None:
        parts.append("{}_{}_seed{}".format(*pinn_method))
    name = "_".join(parts) or "run"
    if len(name) > 120:
        name = name[:100] + "_" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return name


def _listed(flag: str, text: str | None) -> list[str | None]:
    """'soap,adam' → ['soap', 'adam']; None → [None] (the case's own setting)."""
    if text is None:
        return [None]
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise EofpinnError(f"--{flag} {text!r}: expected one or more names separated by commas")
    return names


def _check_solver_flags(solver: str, options: Mapping[str, Any], methods: Mapping[str, Any]) -> None:
    pinn_given = [name for name in PINN_FLAGS if options.get(name) is not None]
    pinn_given += [name for name, value in methods.items() if value is not None]
    if solver != "pinn" and pinn_given:
        flag = pinn_given[0]
        raise EofpinnError(f"--{flag}: a PINN option; add --solver pinn (the sweep runs --solver {solver})")
    if solver == "pinn":
        for name in ("nx", "ny"):
            if options.get(name) is not None:
                raise EofpinnError(f"--{name}: not an option of the pinn solver (its grid is [pinn.points]); "
                                   "use it with --solver fd or exact")


def plan_study(case: str, solver: str, out_dir: str | Path, params: Iterable[str] = (),
               grid: str | Path | None = None, sets: Iterable[str] = (), options: Mapping[str, Any] | None = None,
               optimizers: str | None = None, weightings: str | None = None, seeds: int | None = None,
               plots: bool = False) -> Study:
    """Every run of a sweep, each validated (case, overrides, options) before anything runs.

    params: "--param KEY=V1,V2,..." texts; grid: a study file; sets: "--set KEY=VALUE" texts
    applied to every run; options: `eofpinn.solve` options (nx, ny for fd/exact; steps, device
    for pinn); optimizers, weightings: comma-separated names (PINN; None: the case's own);
    seeds: PINN seeds 0 … seeds − 1 (None: the case's seed). Raises EofpinnError (one line).
    """
    from eofpinn.api import SOLVERS

    if solver not in SOLVERS:
        raise EofpinnError(f"--solver {solver!r}: choose one of {', '.join(SOLVERS)}")
    if Path(case).is_file():  # workers may start elsewhere (Slurm jobs, another machine's worker)
        case = str(Path(case).resolve())
    out_dir = Path(out_dir).resolve()
    options = {name: value for name, value in (options or {}).items() if value is not None}
    _check_solver_flags(solver, options, {"optimizer": optimizers, "weighting": weightings, "seeds": seeds})
    if seeds is not None and seeds < 1:
        raise EofpinnError(f"--seeds {seeds}: must be at least 1 (the runs use seeds 0 … N−1)")

    groups: list[tuple[Axis, ...]] = [(parse_param(text),) for text in params]
    cluster: dict[str, Any] = {}
    if grid is not None:
        file_groups, cluster = read_study_file(grid)
        groups += file_groups
    keys = [axis.key for group in groups for axis in group]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise EofpinnError(f"{twice[0]}: swept twice (in --param or the study file); give each key once")
    for axis in (axis for group in groups for axis in group):
        if key_kind(axis.key, axis.source) == "setting" and solver != "pinn":
            raise EofpinnError(f"{axis.source} {axis.key}: a PINN setting; sweep it with --solver pinn")

    fixed = _fixed_overrides(list(sets), keys, solver)
    methods = (list(itertools.product(_listed("optimizer", optimizers), _listed("weighting", weightings),
                                      range(seeds) if seeds is not None else [None]))
               if solver == "pinn" else [None])
    runs, seen = [], {}
    for combination in itertools.product(*[list(zip(*(axis.values for axis in group))) for group in groups]):
        assignment = {axis.key: value
                      for group, values in zip(groups, combination) for axis, value in zip(group, values)}
        sources = {axis.key: axis.source for group in groups for axis in group}
        for method in methods:
            spec = _spec(case, solver, Path(out_dir), assignment, sources, fixed, options, method, plots)
            if spec.name in seen:
                raise EofpinnError(f"{seen[spec.name]} and {spec.parameters} would share the run directory "
                                   f"{spec.name}; give values that differ in more than spaces or symbols")
            seen[spec.name] = spec.parameters
            runs.append(spec)
    return Study(case=case, solver=solver, keys=tuple(keys), runs=tuple(runs), cluster=cluster,
                 grid=None if grid is None else str(grid))


def _fixed_overrides(sets: list[str], swept: list[str], solver: str) -> dict[str, tuple[str, Any]]:
    """--set items for every run: {key: (kind, value)}; a key may not be both set and swept."""
    from eofpinn.cases import parse_overrides

    fixed: dict[str, tuple[str, Any]] = {}
    for key, value in parse_overrides(sets).items():
        fixed[key] = ("case", value)
    for key, value in parse_setting_overrides(sets).items():
        if solver != "pinn":
            raise EofpinnError(f"--set pinn.{key}: a PINN setting; use it with --solver pinn")
        fixed[SETTINGS_PREFIX + key] = ("setting", value)
    for key in fixed:
        if key in swept:
            raise EofpinnError(f"{key}: given by --set and swept; give it once")
    return fixed


def _spec(case: str, solver: str, out_dir: Path, assignment: dict[str, Any], sources: dict[str, str],
          fixed: dict[str, tuple[str, Any]], options: dict[str, Any], method: tuple | None, plots: bool) -> RunSpec:
    overrides = {key: value for key, (kind, value) in fixed.items() if kind == "case"}
    settings = {key[len(SETTINGS_PREFIX):]: value for key, (kind, value) in fixed.items() if kind == "setting"}
    for key, value in assignment.items():
        if key.startswith(SETTINGS_PREFIX):
            settings[key[len(SETTINGS_PREFIX):]] = value
        else:
            overrides[key] = value
    run_options = dict(options)
    parameters = dict(assignment)
    spec = RunSpec(name="", case=case, solver=solver, run_dir="", overrides=overrides, settings=settings,
                   options=run_options, parameters=parameters, sources={**{k: "--set" for k in fixed}, **sources},
                   plots=plots)
    loaded = spec.load()  # a bad key, unit or value: one line, before any worker starts
    pinn_method = None
    if solver == "pinn":
        for name, value in zip(("optimizer", "weighting", "seed"), method):
            if value is not None:
                run_options[name] = value
        resolved = _checked_pinn_options(loaded, run_options).pinn
        pinn_method = (resolved.optimizer.name, resolved.balancing.name, resolved.seed)
        parameters.update(optimizer=pinn_method[0], weighting=pinn_method[1], seed=pinn_method[2])
    else:
        _check_grid_options(loaded, solver, run_options)
    name = run_name(assignment, pinn_method)
    return dataclasses.replace(spec, name=name, run_dir=str(out_dir / name))


def _checked_pinn_options(case: Case, options: dict[str, Any]) -> Case:
    """`case` with the PINN shortcuts (steps, device, optimizer, weighting, seed) applied, each
    checked as `eofpinn.solve` checks it (an error names the flag)."""
    from eofpinn.api import PINN_SHORTCUTS

    for name, value in options.items():
        case = with_settings(case, {PINN_SHORTCUTS[name]: value}, source=f"--{name}")
    return case


def _check_grid_options(case: Case, solver: str, options: dict[str, Any]) -> None:
    """--nx/--ny within the solver's range, and an exact solution only for straight channels."""
    from eofpinn.api import _grid_option
    from eofpinn.cases.ranges import EXACT, FD, fd_grid_violation

    table = FD if solver == "fd" else EXACT
    for name in ("nx", "ny"):
        if name in options:
            _grid_option(solver, name, options[name], table, f"--{name}")
    if solver == "fd":
        violation = fd_grid_violation(options.get("nx", case.fd.nx), options.get("ny", case.fd.ny))
        if violation:
            raise EofpinnError(f"--nx/--ny: {violation}")
    if solver == "exact" and case.problem.uniform_zeta is None:
        raise EofpinnError("--solver exact: the exact solution needs one uniform zeta on both walls (physics.md §4); "
                           "this sweep has runs with a zeta pattern: use --solver fd")
