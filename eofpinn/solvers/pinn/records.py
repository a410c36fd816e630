"""What a run leaves behind besides checkpoints: history.csv and the two history plots.

history.csv has one row per logged step: step, lr, total (weighted) loss, each loss term
(`loss_<term>`), each weight (`weight_<term>`), the per-field relative L2 errors (`err_<field>`)
and their paper mean (`err_mean`) when a reference exists, ms per step and elapsed seconds.
Both files are rewritten whole at every log (a few hundred rows at most), atomically.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402

HISTORY = "history.csv"
LOSS_PLOT = "loss_history.png"
ERROR_PLOT = "error_history.png"


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


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
    _atomic_write_text(out_dir / HISTORY, buffer.getvalue())


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
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def write_plots(rows: list[dict[str, float]], out_dir: Path, case_name: str) -> None:
    losses = _series(rows, "loss_")
    total = _series(rows, "loss").get("")  # the bare "loss" column
    if total:
        losses["total (weighted)"] = total
    _plot(losses, f"{case_name}: loss terms", "mean square residual", out_dir / LOSS_PLOT, "total (weighted)")
    _plot(_series(rows, "err_"), f"{case_name}: relative L2 error", "relative L2 error",
          out_dir / ERROR_PLOT, "mean")
