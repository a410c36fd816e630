"""What a run leaves behind besides checkpoints and snapshots: history.csv and its plots.

history.csv has one row per logged step: step, lr, total (weighted) loss, each loss term
(`loss_<term>`), each weight (`weight_<term>`), the per-field relative L2 errors (`err_<field>`)
and their paper mean (`err_mean`) when a reference exists, the gradient-conflict diagnostics
(`grad_alignment`, `cos_min`, `cos_<a>__<b>`; weighting.conflict_diagnostics) when they are on,
ms per step and elapsed seconds. It is rewritten whole at every log (a few hundred rows at
most), the plots — loss_history.png, error_history.png, gradient_conflict.png — at the end of a
run; every write is atomic.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402

from eofpinn.atomic import write_text  # noqa: E402
from eofpinn.plots import save_figure  # noqa: E402

HISTORY = "history.csv"
LOSS_PLOT = "loss_history.png"
ERROR_PLOT = "error_history.png"
CONFLICT_PLOT = "gradient_conflict.png"
COSINE_PREFIX = "cos_"
PAIR_SEPARATOR = "__"


def write_history(rows: list[dict[str, float]], out_dir: Path) -> None:
    if not rows:
        return
    columns = list(rows[0])
    for row in rows[1:]:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out_dir / HISTORY, buffer.getvalue())


def _series(rows: list[dict[str, float]], prefix: str) -> dict[str, tuple[list[float], list[float]]]:
    out: dict[str, tuple[list[float], list[float]]] = {}
    for row in rows:
        for key, value in row.items():
            if key.startswith(prefix) and isinstance(value, float) and math.isfinite(value) and value > 0:
                steps, values = out.setdefault(key[len(prefix):], ([], []))
                steps.append(row["step"])
                values.append(value)
    return out


def _plot(series: dict, title: str, ylabel: str, path: Path, highlight: str | None = None) -> None:
    if not series:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (steps, values) in series.items():
        ax.semilogy(steps, values, label=name, lw=2.5 if name == highlight else 1.0,
                    color="k" if name == highlight else None)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def _cosine_matrix(row: dict[str, float]) -> tuple[list[str], list[list[float]]]:
    """Term names and the K×K cosine matrix from a row's `cos_<a>__<b>` columns (a before b)."""
    pairs = {}
    for key, value in row.items():
        if key.startswith(COSINE_PREFIX) and PAIR_SEPARATOR in key:
            pairs[tuple(key[len(COSINE_PREFIX):].split(PAIR_SEPARATOR))] = value
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    matrix = [[1.0 if a == b else pairs.get((a, b), pairs.get((b, a), math.nan)) for b in names] for a in names]
    return names, matrix


def _plot_conflict(rows: list[dict[str, float]], title: str, path: Path) -> None:
    """Alignment score and minimum pairwise cosine against step; the last row's cosine matrix."""
    rows = [row for row in rows if isinstance(row.get("grad_alignment"), float)]
    if not rows:
        return
    names, matrix = _cosine_matrix(rows[-1])
    fig, (ax, ax_map) = plt.subplots(1, 2, figsize=(12, 4.8), width_ratios=(1.2, 1))
    steps = [row["step"] for row in rows]
    ax.plot(steps, [row["grad_alignment"] for row in rows], "k", lw=2, label="alignment score A")
    ax.plot(steps, [row.get("cos_min", math.nan) for row in rows], "C3", lw=1.2, label="min pairwise cosine")
    ax.axhline(0.0, color="0.5", lw=0.8)
    if names:  # K mutually orthogonal gradients give A = 2/K − 1: below it, net conflict
        ax.axhline(2.0 / len(names) - 1.0, color="0.4", lw=0.8, ls="--", label=f"A of {len(names)} orthogonal terms")
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("step")
    ax.set_ylabel("cosine / score")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    if names:  # none with a single loss term
        image = ax_map.imshow(matrix, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
        ax_map.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        ax_map.set_yticks(range(len(names)), names, fontsize=7)
        ax_map.set_title(f"pairwise cosine at step {rows[-1]['step']}", fontsize=9)
        fig.colorbar(image, ax=ax_map, fraction=0.046)
    _save(fig, path)


def write_plots(rows: list[dict[str, float]], out_dir: Path, case_name: str) -> None:
    losses = _series(rows, "loss_")
    total = _series(rows, "loss").get("")  # the bare "loss" column
    if total:
        losses["total (weighted)"] = total
    _plot(losses, f"{case_name}: loss terms", "mean square residual", out_dir / LOSS_PLOT, "total (weighted)")
    _plot(_series(rows, "err_"), f"{case_name}: relative L2 error", "relative L2 error",
          out_dir / ERROR_PLOT, "mean")
    _plot_conflict(rows, f"{case_name}: gradient conflict (arXiv 2502.00604)", out_dir / CONFLICT_PLOT)
