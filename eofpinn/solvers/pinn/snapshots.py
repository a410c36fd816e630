"""Training snapshots: the fields on the evaluation grid during training, for ParaView.

Every `snapshot_every` steps (from step 0) and at the last step, the fields at the parameters
θ_k (before update k, like history row k) go to `snapshots/step_000500.vts` — the layout of the
final `fields.vts` (eofpinn.io.write_vts) — and `snapshots.pvd` is rewritten, atomically, to
list every snapshot with its training step as the timestep. The files on disk are the record:
a run, fresh or resumed at step k, first removes the snapshots of steps ≥ k (left by an earlier
or a killed run), so the collection always describes the one trajectory that reached step k.
"""

from __future__ import annotations

import re
from pathlib import Path

from eofpinn.io import write_vts
from eofpinn.render import write_pvd
from eofpinn.solution import Solution

SNAPSHOT_DIR = "snapshots"
COLLECTION = "snapshots.pvd"
_NAME = re.compile(r"step_(\d+)\.vts")


def snapshot_name(step: int) -> str:
    return f"step_{step:06d}.vts"


class SnapshotSeries:
    """The snapshot files of one run directory and their .pvd collection."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.folder = self.out_dir / SNAPSHOT_DIR
        self.steps: list[int] = []

    @property
    def collection(self) -> Path:
        return self.out_dir / COLLECTION

    def _on_disk(self) -> dict[int, Path]:
        if not self.folder.is_dir():
            return {}
        found = {}
        for path in self.folder.iterdir():
            match = _NAME.fullmatch(path.name)
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
