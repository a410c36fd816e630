"""A PINN run in a directory: the files it keeps, written by observers of the trainer.

    checkpoint.pt     Trainer.state() every [pinn.records] checkpoint_every steps, at the end,
                      and when a stop is requested — everything needed to continue bit for bit
                      (parameters, optimiser state incl. SOAP's factors, balancer state, points,
                      random state, history, best records)
    best_loss.pt      the parameters of the history row with the lowest unweighted loss
    history.csv       one row per logged step (Trainer._row), rewritten at every log;
                      loss_history.png, error_history.png, gradient_conflict.png at the end
    snapshots/        with snapshot_every > 0: the fields at θ_k every that many steps and at
                      the end, step_NNNNNN.vts, listed in snapshots.pvd (timestep = step)

Every write is all or nothing (eofpinn.atomic), and nothing is written from a state whose loss
became non-finite (the trainer checks before calling). The
files on disk are the record: a run, fresh or resumed at step k, first removes the snapshots
of steps ≥ k left by an earlier or killed run, so the collection always describes the one
trajectory that reached step k.

`run_in_directory` trains a case with these observers attached, optionally resuming from a
checkpoint (a run directory or a .pt file).
"""

from __future__ import annotations

import csv
import io
import re
import threading
from pathlib import Path
from typing import Any

import torch

from eofpinn.atomic import write_bytes, write_text
from eofpinn.cases.model import Case, PINNSettings
from eofpinn.errors import SolverError
from eofpinn.io import write_vts
from eofpinn.plots import write_training_plots
from eofpinn.render import write_pvd
from eofpinn.solution import Solution
from eofpinn.solvers.pinn.channel import solve_pinn
from eofpinn.solvers.pinn.trainer import Observer, Trainer

LATEST = "checkpoint.pt"
BEST_LOSS = "best_loss.pt"
HISTORY = "history.csv"
SNAPSHOT_DIR = "snapshots"
COLLECTION = "snapshots.pvd"
_SNAPSHOT_NAME = re.compile(r"step_(\d+)\.vts")


# --------------------------------------------------------------------------- checkpoint files
def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write a trainer state to `path`, all or nothing.

    The state is serialised in memory first: torch.save into a file turns the OSError of a full
    disk into an opaque RuntimeError ("unexpected pos ..."), and a plain write keeps it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes(path, buffer.getbuffer())


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """A checkpoint (a run directory's checkpoint.pt, or a .pt file) as a trainer state;
    a missing or unreadable file is a SolverError."""
    path = Path(path)
    if path.is_dir():
        path = path / LATEST
    if not path.exists():
        raise SolverError(f"cannot resume: no checkpoint at {path} (a run directory holds {LATEST})")
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:  # a truncated or foreign file
        raise SolverError(f"cannot read checkpoint {path}: {exc}") from exc
    return {**state, "source": str(path)}


def write_history(rows: list[dict[str, float]], out_dir: Path) -> None:
    """history.csv: the union of the rows' columns, in order of first appearance."""
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


# --------------------------------------------------------------------------- observers
class Checkpointer(Observer):
    """checkpoint.pt every `checkpoint_every` steps (from step 0), at the end and on a stop;
    best_loss.pt whenever a history row sets a new lowest loss."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.last_step = -1

    @property
    def path(self) -> Path:
        return self.out_dir / LATEST

    def started(self, trainer: Trainer) -> None:
        # A resumed run's state at its first step is the checkpoint it came from.
        self.last_step = trainer.step if trainer.step > 0 else -1
        self.every = trainer.settings.records.checkpoint_every

    def due(self, step: int) -> bool:
        return step % self.every == 0 and step != self.last_step

    def at_step(self, trainer: Trainer) -> None:
        save_checkpoint(trainer.state(), self.path)
        self.last_step = trainer.step

    def logged(self, trainer: Trainer, row: dict) -> None:
        if trainer.best["loss_step"] == row["step"]:
            save_checkpoint({"step": row["step"], "model": trainer.model.state_dict(),
                             "errors": trainer.best["loss_errors"], "loss": trainer.best["loss"]},
                            self.out_dir / BEST_LOSS)

    def finished(self, trainer: Trainer) -> None:
        self.at_step(trainer)

    def diverged(self, trainer: Trainer) -> str:
        if self.last_step < 0:
            return "no checkpoint had been written yet"
        return (f"the last good checkpoint ({self.path}, step {self.last_step}) is kept; resume from it with a "
                "lower learning_rate or a smaller balancing every")

    def interrupted(self, trainer: Trainer) -> str:
        if trainer.step != self.last_step:
            self.at_step(trainer)
        return "checkpoint written"


class HistoryFiles(Observer):
    """history.csv at every row (and when the run stops), the training plots at the end."""

    def __init__(self, out_dir: Path, title: str):
        self.out_dir, self.title = Path(out_dir), title

    def logged(self, trainer: Trainer, row: dict) -> None:
        write_history(trainer.history, self.out_dir)

    def finished(self, trainer: Trainer) -> None:
        write_history(trainer.history, self.out_dir)
        write_training_plots(trainer.history, self.out_dir, self.title)

    def diverged(self, trainer: Trainer) -> None:
        write_history(trainer.history, self.out_dir)

    interrupted = diverged


def snapshot_name(step: int) -> str:
    return f"step_{step:06d}.vts"


class Snapshots(Observer):
    """The fields at θ_k every `snapshot_every` steps and at the end, as a .pvd collection."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.folder = self.out_dir / SNAPSHOT_DIR
        self.steps: list[int] = []

    @property
    def collection(self) -> Path:
        return self.out_dir / COLLECTION

    def started(self, trainer: Trainer) -> None:
        self.every = trainer.settings.records.snapshot_every
        # Snapshots of steps ≥ trainer.step are an earlier or killed run's: this run rewrites them.
        self.truncate(trainer.step)

    def due(self, step: int) -> bool:
        return bool(self.every) and step % self.every == 0

    def at_step(self, trainer: Trainer) -> None:
        self.add(trainer.fields({"step": trainer.step}), trainer.step)

    def finished(self, trainer: Trainer) -> None:
        if self.every and trainer.step not in self.steps:
            self.at_step(trainer)

    def _on_disk(self) -> dict[int, Path]:
        if not self.folder.is_dir():
            return {}
        found = {}
        for path in self.folder.iterdir():
            match = _SNAPSHOT_NAME.fullmatch(path.name)
            if match:
                found[int(match.group(1))] = path
        return found

    def truncate(self, step: int) -> None:
        """Keep the snapshots of steps < `step`; remove later ones and half-written temporaries."""
        if not (self.folder.is_dir() or self.collection.exists()):
            return
        for path in self.folder.glob(".step_*"):  # io's temporaries, left by a killed write
            path.unlink(missing_ok=True)
        kept = []
        for snapshot_step, path in sorted(self._on_disk().items()):
            if snapshot_step < step:
                kept.append(snapshot_step)
            else:
                path.unlink()
        self.steps = kept
        self._write_collection()

    def add(self, solution: Solution, step: int) -> Path:
        """Write the snapshot of `step` and the collection that lists it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / snapshot_name(step)
        write_vts(solution, path)
        self.steps = sorted(set(self.steps) | {step})
        self._write_collection()
        return path

    def _write_collection(self) -> None:
        entries = [(step, f"{SNAPSHOT_DIR}/{snapshot_name(step)}") for step in self.steps]
        write_pvd(entries, self.collection)


def file_observers(out_dir: Path, title: str) -> list[Observer]:
    """The observers that make `out_dir` a PINN run directory (checkpoint first, then snapshots)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [Checkpointer(out_dir), Snapshots(out_dir), HistoryFiles(out_dir, title)]


def run_in_directory(case: Case, out_dir: Path, settings: PINNSettings | None = None,
                     reference: Solution | None = None, resume: Path | None = None, progress: bool = False,
                     stop: threading.Event | None = None, init: Path | None = None) -> Solution:
    """Train the PINN of `case` with checkpoints, history, snapshots and plots in `out_dir`.

    With `resume` (a run directory or a checkpoint file) the run continues exactly where that
    checkpoint stopped, up to `settings.steps`; with `init` (likewise) it starts from that run's
    networks (a warm start). See solvers.pinn.channel.solve_pinn for the rest.
    """
    state = load_checkpoint(Path(resume)) if resume is not None else None
    start = load_checkpoint(Path(init)) if init is not None else None
    return solve_pinn(case, settings, reference, file_observers(out_dir, case.name), state, progress, stop, start)
