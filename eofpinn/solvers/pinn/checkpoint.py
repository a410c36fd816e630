"""Checkpoints of a training run: everything needed to continue it bit for bit.

A checkpoint holds the network parameters, the optimiser state (SOAP's factors, bases and
moments included), the loss weights, the collocation points, every random-number-generator
state the run draws from, the step, the history rows and the best-so-far records. Writes are
all or nothing (eofpinn.atomic) — so a crash, a full disk or a NaN never leaves a half-written
or poisoned `checkpoint.pt` behind.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from eofpinn.atomic import write_bytes
from eofpinn.errors import SolverError

LATEST = "checkpoint.pt"
BEST_LOSS = "best_loss.pt"
# Settings that change the shape of the state; a resumed run must keep them.
STRUCTURAL_SETTINGS = ("width", "depth", "fourier_features", "wall_features", "optimizer", "weighting",
                       "n_interior", "n_boundary", "dtype", "hard_walls", "concentrations", "pressure")


def save(state: dict[str, Any], path: Path) -> None:
    """Write `state` to `path`, all or nothing.

    The state is serialised in memory first: torch.save into a file turns the OSError of a full
    disk into an opaque RuntimeError ("unexpected pos ..."), and a plain write keeps it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes(path, buffer.getbuffer())


def load(path: Path, device: torch.device) -> dict[str, Any]:
    """Read a checkpoint onto `device`; a missing or unreadable file is a SolverError."""
    if path.is_dir():
        path = path / LATEST
    if not path.exists():
        raise SolverError(f"cannot resume: no checkpoint at {path} (a run directory holds {LATEST})")
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:  # a truncated or foreign file
        raise SolverError(f"cannot read checkpoint {path}: {exc}") from exc


def check_compatible(saved_settings: dict[str, Any], settings: dict[str, Any], path: Path) -> None:
    """Refuse to resume with settings that change the networks, optimiser or points."""
    changed = [k for k in STRUCTURAL_SETTINGS if saved_settings.get(k) != settings.get(k)]
    if changed:
        detail = ", ".join(f"{k}: {saved_settings.get(k)!r} → {settings.get(k)!r}" for k in changed)
        raise SolverError(f"cannot resume from {path}: settings changed ({detail}); "
                          "start a new run or restore these settings")


def rng_state(sampler: torch.Generator) -> dict[str, Any]:
    """The run's random state: its one generator (network initialisation, Fourier features
    and collocation draws all come from it; the global torch RNG is never used)."""
    return {"sampler": sampler.get_state()}


def restore_rng(state: dict[str, Any], sampler: torch.Generator) -> None:
    sampler.set_state(state["sampler"].cpu())
