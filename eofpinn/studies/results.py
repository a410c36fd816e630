"""A study's results: one row per run read back from its directory, and the files of the sweep.

    sweep.csv, sweep.json   one row per run: the swept parameters, status (finished, skipped =
                            finished earlier, failed, diverged, error), the reason, the wall
                            time, the observables of its summary.json (flow rate, mean
                            velocity, and every number under "observables"), the relative L2
                            errors against the exact solution where one exists (error_<field>,
                            error_mean = the paper's mean over φ, c₊, c₋, u), and for PINN runs
                            the final, best-loss and best-ever errors, ms per step and the mean
                            gradient alignment; sweep.json adds the study and, for PINN sweeps,
                            the degradation ratio per method
    sweep.pvd               every finished run's fields.vts as one ParaView collection
    plots/OBSERVABLE.png    each observable against each swept parameter (one panel per
                            parameter, one line per combination of the other parameters)

The rows are built from the run directories (summary.json, run.json, failure.json,
history.csv), so a sweep that skipped finished runs still reports them.
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from eofpinn.atomic import write_text
from eofpinn.cases.ranges import PHYSICAL
from eofpinn.errors import CaseError
from eofpinn.studies.plan import RunSpec, Study
from eofpinn.units import QUANTITY_KINDS, parse_quantity

FLOW_KEYS = ("flow_rate_hat", "flow_rate_per_depth_m2_s", "mean_velocity_m_s")
METHOD_KEYS = ("optimizer", "weighting", "seed")
PINN_COLUMNS = ("final", "best_loss", "best_ever", "ms_per_step", "grad_alignment", "cos_min")
DONE = ("finished", "skipped")  # statuses with results on disk


# ---------------------------------------------------------------------------- values of axes
def quantity_kind(key: str) -> str | None:
    """The physical kind of a case-file key written with units (PHYSICAL; zetas are voltages)."""
    if key in PHYSICAL:
        return PHYSICAL[key].kind
    if key.startswith("walls."):
        return "length" if key == "walls.transition" else "voltage"
    return None


def numeric_value(key: str, value: Any) -> float | None:
    """A parameter value as a number for plots and ratios: numbers as they are, values with
    units in SI ("0.1 mM" → 0.1 mol/m³), anything else (lists, words) None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    kind = quantity_kind(key)
    if isinstance(value, str) and kind is not None:
        try:
            return parse_quantity(value, kind, "", key)
        except CaseError:
            return None
    return None


def axis_label(key: str) -> str:
    kind = quantity_kind(key)
    return f"{key} [{QUANTITY_KINDS[kind][0]}]" if kind else key


# ---------------------------------------------------------------------------- rows
def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def read_history(run_dir: Path) -> list[dict[str, float]]:
    """A PINN run's history.csv as rows of floats ([] when there is none)."""
    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]


def _mean_of(history: list[dict[str, float]], column: str) -> float:
    values = [row[column] for row in history if math.isfinite(row.get(column, math.nan))]
    return float(np.mean(values)) if values else math.nan


def _numbers(value: Any, prefix: str) -> dict[str, float]:
    """Every numeric leaf of `value` under dotted names (booleans and lists left out)."""
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            out.update(_numbers(item, f"{prefix}.{name}" if prefix else str(name)))
        return out
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {prefix: float(value)}
    return {}


def observables(summary: dict) -> dict[str, float]:
    """The numbers a summary.json reports about the flow: flow rate, mean velocity, and
    whatever its "observables" section holds (current, conductance, ...)."""
    out = {key: float(summary[key]) for key in FLOW_KEYS if isinstance(summary.get(key), (int, float))}
    out.update(_numbers(summary.get("observables"), ""))
    return out


def reference_errors(summary: dict) -> dict[str, float]:
    errors = (summary.get("info") or {}).get("errors_vs_exact") or {}
    return {("error_mean" if name == "paper_mean" else f"error_{name}"): value
            for name, value in errors.items() if isinstance(value, (int, float))}


def run_row(spec: RunSpec, outcome: dict, primary: str | None, others: list[str]) -> dict:
    """The row of one run: parameters, status, reason, wall time, observables, errors, and the
    PINN columns (method, errors, timing, gradient alignment) for PINN runs."""
    run_dir = Path(spec.run_dir)
    summary = _read_json(run_dir / "summary.json")
    record = _read_json(run_dir / "run.json") or {}
    status, reason = outcome.get("status", "not run"), outcome.get("reason", "")
    if status in DONE and summary is None:  # removed or unreadable since the task finished
        status, reason = "error", f"{run_dir / 'summary.json'} is missing or unreadable"
    row: dict[str, Any] = {"run": spec.name, **spec.parameters, "status": status, "reason": reason,
                           "wall_s": record.get("wall_s", outcome.get("task_s"))}
    if record.get("resumed"):
        row["resumed"] = len(record["resumed"])
    if summary is not None and status in DONE:
        row.update(observables(summary))
        row.update(reference_errors(summary))
    if spec.solver == "pinn":
        row.update(_pinn_columns(spec, run_dir, summary if status in DONE else None, status, primary, others))
    return row


def _pinn_columns(spec: RunSpec, run_dir: Path, summary: dict | None, status: str, primary: str | None,
                  others: list[str]) -> dict:
    """final, best-loss and best-ever paper-mean errors, ms/step, the mean gradient alignment
    score and most-conflicting cosine; a diverged run keeps the best error it logged and
    counts as infinitely wrong at its end."""
    history = read_history(run_dir)
    method = spec.method
    if others:
        method += " (" + ", ".join(f"{key}={spec.parameters[key]}" for key in others) + ")"
    columns = {"method": method, "parameter": primary,
               "value": numeric_value(primary, spec.parameters[primary]) if primary else None}
    if summary is not None:
        info = summary.get("info", {})
        columns.update(final=(info.get("final_errors") or {}).get("mean", math.nan),
                       best_loss=(info.get("best_loss_errors") or {}).get("mean", math.nan),
                       best_ever=(info.get("best_errors") or {}).get("mean", math.nan),
                       ms_per_step=info.get("ms_per_step", math.nan))
    elif status == "diverged":
        errors = [row["err_mean"] for row in history if math.isfinite(row.get("err_mean", math.nan))]
        columns.update(final=math.inf, best_loss=math.inf, best_ever=min(errors) if errors else math.inf,
                       ms_per_step=_mean_of(history, "ms_per_step"))
    else:
        columns.update(final=math.nan, best_loss=math.nan, best_ever=math.nan, ms_per_step=math.nan)
    columns.update(grad_alignment=_mean_of(history, "grad_alignment"), cos_min=_mean_of(history, "cos_min"))
    return columns


def collect(study: Study, outcomes: dict[str, dict]) -> list[dict]:
    """One row per run of `study`, in plan order; `outcomes` maps run names to task outcomes."""
    primary = study.keys[0] if study.keys else None
    others = list(study.keys[1:])
    return [run_row(spec, outcomes.get(spec.name, {"status": "not run", "reason": "not run"}), primary, others)
            for spec in study.runs]


# ---------------------------------------------------------------------------- method comparison
def _compared(rows: list[dict]) -> list[dict]:
    """Rows that take part in the method comparison: finished or diverged PINN runs of a
    numeric primary parameter."""
    return [r for r in rows if r.get("method") and r.get("value") is not None
            and (r["status"] in DONE or r["status"] == "diverged")]


def mean_errors(rows: list[dict], method: str, metric: str = "final") -> dict[float, float]:
    """Mean `metric` over seeds per parameter value of one method, weakest coupling first
    (largest ε for debye_ratio, else smallest value)."""
    by_value: dict[float, list[float]] = {}
    for r in _compared(rows):
        if r["method"] == method:
            by_value.setdefault(r["value"], []).append(r[metric])
    weak_first = sorted(by_value, reverse=any(r.get("parameter") == "debye_ratio" for r in rows))
    return {value: float(np.mean(by_value[value])) for value in weak_first}


def degradation(rows: list[dict], metric: str = "final") -> dict[str, float]:
    """Per method: mean error (over seeds) at the strongest coupling ÷ at the weakest.

    For debye_ratio the strongest coupling is the smallest ε (coupling ∝ 1/ε²); for any other
    parameter the largest value counts as strongest. A diverged run (infinite error) at the
    strongest coupling makes the ratio infinite.
    """
    out = {}
    for method in sorted({r["method"] for r in _compared(rows)}):
        errors = list(mean_errors(rows, method, metric).values())
        if len(errors) >= 2:
            out[method] = errors[-1] / errors[0] if math.isfinite(errors[0]) else math.nan
    return out


# ---------------------------------------------------------------------------- tables
def _cell(value: Any, width: int) -> str:
    if isinstance(value, float):
        text = "diverged" if value == math.inf else ("—" if not math.isfinite(value) else f"{value:.4g}")
    else:
        text = "—" if value is None else str(value)
    return f"{text:>{width}}"


def format_table(rows: list[dict], solver: str) -> str:
    """The table `eofpinn sweep` prints: PINN sweeps as the method comparison (errors, ms/step,
    alignment, degradation ratios); others with status, wall time and the observables."""
    if not rows:
        return "no runs"
    name_width = max(12, *(len(r["run"]) for r in rows)) + 2
    if solver == "pinn":
        columns = [("status", 10), ("final", 11), ("best_loss", 11), ("best_ever", 11), ("ms_per_step", 9),
                   ("grad_alignment", 7)]
        titles = {"best_loss": "best-loss", "best_ever": "best-ever", "ms_per_step": "ms/step",
                  "grad_alignment": "align"}
    else:
        keys = list(dict.fromkeys(k for r in rows for k in r))
        shown = [k for k in ("mean_velocity_m_s", "flow_rate_hat") if k in keys]
        shown += [k for k in keys if k.startswith("observables.")][:3]
        shown += [k for k in ("error_mean",) if k in keys]
        columns = [("status", 10), ("wall_s", 8)] + [(key, max(12, len(key) + 2)) for key in shown]
        titles = {}
    lines = [f"{'run':<{name_width}}" + "".join(f"{titles.get(k, k):>{w}}" for k, w in columns)]
    for r in rows:
        lines.append(f"{r['run']:<{name_width}}" + "".join(_cell(r.get(k), w) for k, w in columns))
        if r["status"] not in DONE and r.get("reason"):
            lines.append(f"    {r['status']}: {r['reason']}")
    if solver == "pinn":
        ratios = degradation(rows)
        if ratios:
            lines.append("degradation ratio (strong ÷ weak coupling, final error, mean over seeds):")
            lines += [f"  {m:<28}{v:>10.3g}×" for m, v in ratios.items()]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- files
def _csv_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return "" if value is None else value


def write_csv(rows: list[dict], path: Path) -> Path:
    columns = list(dict.fromkeys(k for r in rows for k in r if not k.startswith("_")))
    buffer = _io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows({k: _csv_value(v) for k, v in r.items() if not k.startswith("_")} for r in rows)
    write_text(path, buffer.getvalue())
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def write_json(study: Study, rows: list[dict], path: Path) -> Path:
    payload = {"case": study.case, "solver": study.solver, "parameters": list(study.keys), "rows": rows}
    if study.solver == "pinn":
        payload["degradation"] = degradation(rows)
        payload["degradation_best_ever"] = degradation(rows, "best_ever")
    write_text(path, json.dumps(_jsonable(payload), indent=2) + "\n")
    return path


def write_collection(rows: list[dict], out_dir: Path) -> Path:
    """sweep.pvd: every finished run's fields.vts as one ParaView collection (index = row)."""
    from eofpinn.render import write_pvd

    done = [r for r in rows if r["status"] in DONE]
    entries = [(i, Path(r["run"]) / "fields.vts") for i, r in enumerate(done)]
    return write_pvd(entries, out_dir / "sweep.pvd", names=[r["run"] for r in done])


def plotted_observables(rows: list[dict], solver: str) -> list[str]:
    """Observables worth a figure: the flow and summary observables, the mean error against
    the exact solution, and the PINN's final error."""
    keys = list(dict.fromkeys(k for r in rows if r["status"] in DONE for k in r))
    chosen = [k for k in keys if k in FLOW_KEYS or k.startswith("observables.") or k.startswith("current")
              or k.startswith("conductance")]
    chosen += [k for k in ("error_mean",) if k in keys]
    if solver == "pinn" and "final" in keys:
        chosen.append("final")
    return chosen


def write_plots(study: Study, rows: list[dict], out_dir: Path) -> list[Path]:
    """plots/OBSERVABLE.png: the observable against each swept parameter, one panel each, one
    line per combination of the other parameters (methods and seeds included)."""
    swept = [k for k in [*study.keys, *METHOD_KEYS]
             if len({json.dumps(r.get(k), default=str) for r in rows}) > 1]
    done = [r for r in rows if r["status"] in DONE]
    if not swept or not done:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = out_dir / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for observable in plotted_observables(rows, study.solver):
        fig, axes = plt.subplots(1, len(swept), figsize=(5.2 * len(swept), 4.2), squeeze=False)
        for ax, key in zip(axes[0], swept):
            _panel(ax, done, observable, key, [k for k in swept if k != key])
        fig.suptitle(f"{observable} ({study.solver}, {Path(study.case).stem})")
        fig.tight_layout()
        path = folder / (re.sub(r"[^A-Za-z0-9._-]", "_", observable) + ".png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def _panel(ax, rows: list[dict], observable: str, key: str, others: list[str]) -> None:
    values = [r.get(key) for r in rows]
    numbers = [numeric_value(key, v) for v in values]
    categorical = any(n is None for n in numbers)
    labels = list(dict.fromkeys(json.dumps(v, default=str) for v in values))
    lines: dict[str, list[tuple[float, float]]] = {}
    for r, number in zip(rows, numbers):
        y = r.get(observable)
        if not isinstance(y, (int, float)) or not math.isfinite(y):
            continue
        x = labels.index(json.dumps(r.get(key), default=str)) if categorical else number
        label = ", ".join(f"{k}={r.get(k)}" for k in others) or observable
        lines.setdefault(label, []).append((x, float(y)))
    for label, points in lines.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label=label)
    xs = [p[0] for points in lines.values() for p in points]
    ys = [p[1] for points in lines.values() for p in points]
    if not categorical and xs and min(xs) > 0 and max(xs) / min(xs) >= 20:
        ax.set_xscale("log")
    if ys and min(ys) > 0 and max(ys) / min(ys) >= 100:
        ax.set_yscale("log")
    if categorical:
        ax.set_xticks(range(len(labels)), [json.loads(text) if text.startswith('"') else text for text in labels],
                      rotation=20)
    ax.set_xlabel(axis_label(key))
    ax.set_ylabel(observable)
    ax.grid(True, which="both", alpha=0.3)
    if len(lines) > 1:
        ax.legend(fontsize=7)
