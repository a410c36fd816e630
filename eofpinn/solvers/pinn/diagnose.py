"""Diagnose gradient conflict before choosing a remedy (`eofpinn diagnose`; arXiv 2605.10136).

Reading of the paper (Kim & N'guessan 2026; only the abstract was available, the rest is
eofpinn's own design, measured in validation/adapters.py and method.md "Diagnose first"):
gradient conflict between the K loss terms of a PINN comes in regimes, and each calls for its
own remedy —

    directional  the per-term gradients point against one another, persistently: no scalar
                 reweighting changes a cosine, so give each loss its own parameter subspace
                 (per-loss adapters, adapters.py) and balance the magnitudes as well ("adapters+gn");
    magnitude    the directions are compatible but the norms ‖∇L_i‖ differ by orders of
                 magnitude: scalar reweighting ("gn") is the remedy;
    low          neither (or a conflict that fades within the window): change nothing ("none").

The profile. The case's own run, unmodified except that nothing is done about conflict: the
case's optimiser, learning rate and schedule (the decay factor rescaled so that lr(step) over
the window is the case's own), networks, formulation and points; balancing "none" (all
λ_i = 1, so the norms are the raw ones), no adapters, no polishing phase, no tail averaging, no
time limit. It
runs `steps` steps (default 1000, the paper's window) and records a history row every `every`
steps (default 20: 51 rows; each costs K backward passes) with the conflict diagnostics of conflict.py at that row's parameters: the
alignment score A, every pairwise cosine, cos_min, and ‖∇L_i‖ (`gnorm_<term>`). Errors, when
the case has a reference, are measured on a coarse grid (they are not part of the verdict).

The statistics over the window's rows (step 0 … steps):

    alignment_mean       mean of A
    cos_min_median       median over rows of cos_min = min_{i<j} cos(∇L_i, ∇L_j)  (evidence)
    worst pair           the pair (i, j) whose cosine has the lowest median over the rows
    worst_pair_cos       that median
    late_conflict        share of the rows in the window's second half where the worst pair's
                         cosine is below c_dir
    norm_ratio_median    median over rows of max_i ‖∇L_i‖ / min_i ‖∇L_i‖ (terms with ∇L_i ≠ 0)

The rule (thresholds in `Thresholds`, justified by the measurements in method.md):

    directional  if worst_pair_cos < c_dir and late_conflict ≥ p       (one pair, persistently)
    magnitude    elif norm_ratio_median ≥ r_mag
    low          otherwise

Directional takes precedence because its remedy (adapters + GN) includes the magnitude one.
The verdict rests on one pair's cosine, not on cos_min: the minimum over K(K − 1)/2 pairs dips
below c_dir whenever any pair does, and on the quick-start case (K = 7, 21 pairs) its median was
−0.54 on one seed and −0.27 on another while no single pair had a median below −0.11 — noise
changing the verdict. A conflict that calls for its own parameter subspaces is a persistent one
between the same two losses.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eofpinn.cases.pinn_settings import PINNSettings, replace
from eofpinn.errors import EofpinnError
from eofpinn.solvers.pinn.trainer import Observer, Trainer

REGIMES = ("directional", "magnitude", "low")
RECOMMENDATIONS = {"directional": "adapters+gn", "magnitude": "gn", "low": "none"}
# What each recommendation sets in a case file: ([pinn.balancing] name, [pinn.network] adapters).
RECOMMENDED_SETTINGS = {"adapters+gn": ("gn", "per_loss"), "gn": ("gn", "none"), "none": ("none", "none")}
DEFAULT_STEPS = 1000
DEFAULT_EVERY = 20
PROFILE_EVAL_GRID = (16, 64)  # errors are side information: a coarse grid keeps rows cheap


@dataclass(frozen=True)
class Thresholds:
    """The classification thresholds (module docstring): c_dir, p, r_mag."""

    directional_cos: float = -0.5
    persistence: float = 0.5
    magnitude_ratio: float = 10.0


# --------------------------------------------------------------------------- the profile run
def profile_settings(settings: PINNSettings, steps: int = DEFAULT_STEPS, every: int = DEFAULT_EVERY,
                     seed: int | None = None) -> PINNSettings:
    """The settings of the unmodified profile of a run with `settings` (module docstring).

    The learning rate lr₀ f^(step/S) of the case's main phase (S steps) is kept step for step:
    the profile's decay factor over its own `steps` is f^(steps/S).
    """
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps must be an integer ≥ 1; got {steps!r}")
    if not (isinstance(every, int) and 1 <= every <= steps):
        raise ValueError(f"every must be an integer in [1, steps = {steps}]; got {every!r}")
    factor = settings.optimizer.final_lr_factor ** (steps / settings.main_steps)
    changes: dict[str, Any] = {
        "steps": steps, "time_limit_s": 0.0, "balancing.name": "none", "network.adapters": "none",
        "polish.steps": 0, "optimizer.final_lr_factor": max(factor, 1e-300), "optimizer.average_last": 0.0,
        "records.log_every": every, "records.conflict_diagnostics": True, "records.snapshot_every": 0,
        "records.checkpoint_every": steps + 1,
        "records.eval_nx": min(settings.records.eval_nx or PROFILE_EVAL_GRID[0], PROFILE_EVAL_GRID[0]),
        "records.eval_ny": min(settings.records.eval_ny, PROFILE_EVAL_GRID[1]),
    }
    if seed is not None:
        changes["seed"] = seed
    return replace(settings, changes)


class RowCollector(Observer):
    """Keeps every history row of a run (and its loss-term names) in memory."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.term_names: tuple[str, ...] = ()

    def started(self, trainer: Trainer) -> None:
        self.term_names = tuple(trainer.term_names)

    def logged(self, trainer: Trainer, row: dict) -> None:
        self.rows.append(dict(row))


@dataclass
class Profile:
    """The rows of a profile run and what it ran with."""

    rows: list[dict[str, float]]
    term_names: tuple[str, ...]
    settings: PINNSettings
    seconds: float
    name: str = ""


def profile_case(case, steps: int = DEFAULT_STEPS, every: int = DEFAULT_EVERY, seed: int | None = None,
                 progress: bool = False) -> Profile:
    """Run the profile of a channel case in memory (solve_pinn with a RowCollector)."""
    from eofpinn.solvers.pinn.channel import solve_pinn

    settings = profile_settings(case.pinn, steps, every, seed)
    collector = RowCollector()
    start = time.perf_counter()
    solve_pinn(case, settings, observers=[collector], progress=progress)
    return Profile(collector.rows, collector.term_names, settings, time.perf_counter() - start, case.name)


def profile_task(task: Any, settings: PINNSettings, name: str = "") -> Profile:
    """Run an already prepared profile (`profile_settings`) of any trainer task, e.g. the 1D
    double layer of validation/npp1d.py."""
    collector = RowCollector()
    start = time.perf_counter()
    Trainer(task, settings, [collector]).train()
    return Profile(collector.rows, collector.term_names, settings, time.perf_counter() - start, name)


# --------------------------------------------------------------------------- statistics and verdict
def gradient_norms(row: dict[str, float], names: tuple[str, ...]) -> list[float]:
    return [row[f"gnorm_{name}"] for name in names]


def norm_ratio(row: dict[str, float], names: tuple[str, ...]) -> float:
    """max_i ‖∇L_i‖ / min_i ‖∇L_i‖ over the terms with a nonzero gradient (NaN below two)."""
    norms = [n for n in gradient_norms(row, names) if n > 0.0 and math.isfinite(n)]
    return max(norms) / min(norms) if len(norms) >= 2 else math.nan


def _pair_cosines(rows: list[dict[str, float]], names: tuple[str, ...]) -> dict[tuple[str, str], list[float]]:
    return {(a, b): [r[f"cos_{a}__{b}"] for r in rows] for i, a in enumerate(names) for b in names[i + 1:]}


def _median(values: list[float]) -> float:
    values = [v for v in values if math.isfinite(v)]
    return statistics.median(values) if values else math.nan


@dataclass
class Diagnosis:
    """The verdict of a profile and the evidence it rests on (`as_json` for --json)."""

    regime: str
    recommendation: str
    reason: str
    alignment_mean: float
    cos_min_median: float
    late_conflict_fraction: float
    norm_ratio_median: float
    steps: int
    every: int
    rows: int
    term_names: tuple[str, ...]
    worst_pair: tuple[str, str] | None
    worst_pair_cos_median: float
    most_conflicting_pair: tuple[str, str] | None  # the pair most often at cos_min
    gradient_norm_medians: dict[str, float]
    loss_medians: dict[str, float]
    thresholds: Thresholds
    seconds: float
    name: str = ""
    seed: int = 0
    final_error: float = math.nan
    history: list[dict[str, float]] = field(default_factory=list, repr=False)

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "history"}
        out["term_names"] = list(self.term_names)
        return _finite_or_none(out)


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN/Inf: those become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def classify(worst_pair_cos: float, late_conflict: float, norm_ratio_median: float,
             thresholds: Thresholds = Thresholds()) -> tuple[str, str]:
    """(regime, reason) by the rule of the module docstring."""
    t = thresholds
    if worst_pair_cos < t.directional_cos and late_conflict >= t.persistence:
        return "directional", (f"the most conflicting pair's median cosine {worst_pair_cos:+.2f} < "
                               f"{t.directional_cos:+.2f} and the conflict persists ({late_conflict:.0%} of the "
                               f"late rows ≥ {t.persistence:.0%})")
    conflict = (f"the most conflicting pair's median cosine {worst_pair_cos:+.2f}"
                + (f" (< {t.directional_cos:+.2f} but transient: {late_conflict:.0%} of the late rows)"
                   if worst_pair_cos < t.directional_cos
                else f" ≥ {t.directional_cos:+.2f}"))
    if norm_ratio_median >= t.magnitude_ratio:
        return "magnitude", f"{conflict}; gradient norms differ by {norm_ratio_median:.3g}× ≥ {t.magnitude_ratio:g}×"
    return "low", f"{conflict}; gradient norms within {norm_ratio_median:.3g}× < {t.magnitude_ratio:g}×"


def diagnose(profile: Profile, thresholds: Thresholds = Thresholds()) -> Diagnosis:
    """The regime of a profile run and its evidence (module docstring)."""
    names = profile.term_names
    rows = [r for r in profile.rows if "grad_alignment" in r]
    if not rows:
        raise EofpinnError("the profile recorded no gradient diagnostics (no history row)")
    steps = profile.settings.steps
    late = [r for r in rows if r["step"] >= steps / 2] or rows[-1:]
    cos_min = [r["cos_min"] for r in rows]
    pairs = {pair: _median(values) for pair, values in _pair_cosines(rows, names).items()}
    worst = min(pairs, key=pairs.get) if pairs else None
    worst_cos = pairs[worst] if worst else math.nan
    late_cos = _pair_cosines(late, names)[worst] if worst else []
    late_conflict = sum(c < thresholds.directional_cos for c in late_cos) / max(len(late_cos), 1)
    ratio = _median([norm_ratio(r, names) for r in rows])
    regime, reason = classify(worst_cos, late_conflict, ratio, thresholds)
    at_min = Counter(min(_pair_cosines([r], names).items(), key=lambda kv: kv[1][0])[0] for r in rows) if pairs else {}
    errors = [r["err_mean"] for r in rows if "err_mean" in r]
    return Diagnosis(
        regime=regime, recommendation=RECOMMENDATIONS[regime], reason=reason,
        alignment_mean=statistics.fmean(r["grad_alignment"] for r in rows),
        cos_min_median=_median(cos_min), late_conflict_fraction=late_conflict, norm_ratio_median=ratio,
        steps=steps, every=profile.settings.records.log_every, rows=len(rows), term_names=names,
        worst_pair=worst, worst_pair_cos_median=worst_cos,
        most_conflicting_pair=max(at_min, key=at_min.get) if at_min else None,
        gradient_norm_medians={n: _median([r[f"gnorm_{n}"] for r in rows]) for n in names},
        loss_medians={n: _median([r[f"loss_{n}"] for r in rows]) for n in names},
        thresholds=thresholds, seconds=profile.seconds, name=profile.name, seed=profile.settings.seed,
        final_error=errors[-1] if errors else math.nan, history=rows,
    )


# --------------------------------------------------------------------------- evidence
def format_report(d: Diagnosis) -> str:
    """The evidence as text: one line per loss term, the statistics, the verdict."""
    width = max(len(n) for n in d.term_names)
    lines = [f"profile of {d.name or 'the case'}: {d.steps} steps, balancing none, a row every {d.every} steps "
             f"({d.rows} rows), seed {d.seed}, {d.seconds:.0f} s",
             "", f"{'term':<{width}}  median ‖∇L‖   median L", f"{'-' * width}  -----------  ---------"]
    lines += [f"{n:<{width}}  {d.gradient_norm_medians[n]:11.3e}  {d.loss_medians[n]:9.2e}" for n in d.term_names]
    pair = " vs ".join(d.worst_pair) if d.worst_pair else "—"
    lines += [
        "",
        f"alignment score A, mean           {d.alignment_mean:+.3f}   (K = {len(d.term_names)} orthogonal terms: "
        f"{2 / len(d.term_names) - 1:+.2f})",
        f"cos_min, median                   {d.cos_min_median:+.3f}   (the worst of all pairs, row by row)",
        f"most conflicting pair (median)    {pair}: {d.worst_pair_cos_median:+.3f}   (threshold "
        f"{d.thresholds.directional_cos:+.2f})",
        f"late rows with it below           {d.late_conflict_fraction:.0%}     (persistent from "
        f"{d.thresholds.persistence:.0%})",
        f"‖∇L‖ max/min, median              {d.norm_ratio_median:.3g}×   (threshold {d.thresholds.magnitude_ratio:g}×)",
    ]
    if math.isfinite(d.final_error):
        lines.append(f"mean error at the last row        {d.final_error:.3e}   (coarse grid)")
    lines += ["", f"regime: {d.regime} — {d.reason}", f"recommendation: {d.recommendation}"]
    return "\n".join(lines)


def plot_diagnosis(d: Diagnosis, path: Path) -> Path:
    """cos_min, A and the worst pair's cosine; the gradient norms and their max/min ratio (PNG)."""
    from eofpinn.plots import plt, save_figure

    rows, names = d.history, d.term_names
    steps = [r["step"] for r in rows]
    fig, (ax, ax_norm) = plt.subplots(1, 2, figsize=(12, 4.6))
    ax.plot(steps, [r["grad_alignment"] for r in rows], "k", lw=2, label="alignment score A")
    ax.plot(steps, [r["cos_min"] for r in rows], "C3", lw=1.2, label="cos_min")
    if d.worst_pair:
        a, b = d.worst_pair
        ax.plot(steps, [r[f"cos_{a}__{b}"] for r in rows], "C0", lw=0.8, label=f"cos {a} · {b}")
    ax.axhline(d.thresholds.directional_cos, color="C3", ls="--", lw=0.8, label="directional threshold")
    ax.axvline(d.steps / 2, color="0.6", ls=":", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("step")
    ax.set_ylabel("cosine / score")
    ax.set_title(f"{d.name}: regime {d.regime} → {d.recommendation}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    for i, n in enumerate(names):
        ax_norm.semilogy(steps, [max(r[f"gnorm_{n}"], 1e-300) for r in rows], color=f"C{i % 10}", lw=0.8, label=n)
    ax_norm.semilogy(steps, [norm_ratio(r, names) for r in rows], "k", lw=2, label="max/min ratio")
    ax_norm.axhline(d.thresholds.magnitude_ratio, color="k", ls="--", lw=0.8, label="magnitude threshold")
    ax_norm.set_xlabel("step")
    ax_norm.set_ylabel("‖∇L_i‖ (balancing none)")
    ax_norm.grid(True, alpha=0.3, which="both")
    ax_norm.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return save_figure(fig, path)


# --------------------------------------------------------------------------- --write-case
_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")
_VALUE_AND_COMMENT = re.compile(r"""^\s*[A-Za-z0-9_\-]+\s*=\s*("[^"\\]*"|'[^']*'|[^\s#"'\[{]+)(\s+#.*)?$""")


def _sections(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Table name → (header line, end line exclusive) of every [table] header."""
    starts = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _HEADER.match(line))]
    ends = [i for i, _ in starts[1:]] + [len(lines)]
    return {name: (i, end) for (i, name), end in zip(starts, ends)}


def set_table_keys(text: str, table: str, values: dict[str, str], drop_others: bool = False) -> str:
    """The TOML `text` with `values` (key → TOML literal) set in [table], comments kept.

    An existing `key = ...` line of that table is replaced, a missing one added after the
    header; a missing table is appended. With `drop_others` every other key line of the table
    goes (a new balancer does not take the old one's options). Single-line values only: the
    caller re-reads the result to check it.
    """
    lines = text.splitlines()
    where = _sections(lines).get(table)
    if where is None:
        block = [f"[{table}]"] + [f"{k} = {v}" for k, v in values.items()]
        return "\n".join(lines + ([""] if lines and lines[-1].strip() else []) + block) + "\n"
    start, end = where
    body, done = [], set()
    for line in lines[start + 1:end]:
        m = _KEY.match(line)
        key = m.group(1) if m else None
        if key in values:
            kept = _VALUE_AND_COMMENT.match(line)  # keep a trailing comment where the value is simple
            body.append(f"{key} = {values[key]}" + (kept.group(2) if kept and kept.group(2) else ""))
            done.add(key)
        elif key is not None and drop_others:
            continue
        else:
            body.append(line)
    missing = [f"{k} = {v}" for k, v in values.items() if k not in done]
    return "\n".join(lines[:start + 1] + missing + body + lines[end:]) + "\n"


def recommended_case_text(text: str, recommendation: str, current_balancer: str) -> str:
    """A case file's text with the [pinn] settings of a recommendation."""
    balancer, adapters = RECOMMENDED_SETTINGS[recommendation]
    text = set_table_keys(text, "pinn.balancing", {"name": json.dumps(balancer)},
                          drop_others=balancer != current_balancer)
    return set_table_keys(text, "pinn.network", {"adapters": json.dumps(adapters)})


def check_case_target(case, out: Path) -> Path:
    """Refuse a --write-case target before the run: not .toml, existing, no such folder, or a
    case that was not read from a file."""
    out = Path(out)
    if out.suffix != ".toml":
        raise EofpinnError(f"--write-case {out}: the case file must end in .toml")
    if out.exists():
        raise EofpinnError(f"{out}: exists; choose another name or remove the file (diagnose never overwrites)")
    if not out.parent.is_dir():
        raise EofpinnError(f"{out.parent}: no such directory; create it first or choose another path")
    if not Path(case.source).is_file():
        raise EofpinnError(f"--write-case: the case was not read from a file ({case.source}); nothing to copy")
    return out


def write_recommended_case(case, out: Path, recommendation: str) -> Path:
    """Copy the case file of `case` to `out` with the recommended [pinn] settings; refuses to
    overwrite, and checks that the written file loads with exactly those settings."""
    from eofpinn.atomic import replacing
    from eofpinn.cases import load_case

    out = check_case_target(case, out)
    source = Path(case.source)
    text = recommended_case_text(source.read_text(encoding="utf-8"), recommendation, case.pinn.balancing.name)
    balancer, adapters = RECOMMENDED_SETTINGS[recommendation]
    with replacing(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
        try:
            written = load_case(tmp).pinn
        except EofpinnError as exc:
            raise EofpinnError(f"--write-case {out}: the edited copy of {source} does not load ({exc}); "
                               f"set [pinn.balancing] name = {balancer!r} and [pinn.network] adapters = "
                               f"{adapters!r} by hand") from None
        if (written.balancing.name, written.network.adapters) != (balancer, adapters):
            raise EofpinnError(f"--write-case {out}: {source} sets these keys in a form this editor does not "
                               f"change (an inline table or a flat [pinn] key); set [pinn.balancing] name = "
                               f"{balancer!r} and [pinn.network] adapters = {adapters!r} by hand")
    return out
