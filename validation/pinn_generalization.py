"""Where a trained PINN's residuals are: at its own collocation points, at fresh points, by region.

A PINN is trained on a finite set of collocation points; small loss terms there say little about
the residuals between them. For a finished run directory (checkpoint.pt, case.toml) this prints
1. every loss term at the run's last collocation points and at two fresh draws of the same
   layout (seeds 11, 12): a fresh/collocation ratio far above 1 means the points are overfitted;
2. the root-mean-square of each PDE residual on a uniform 200 × 200 cell-centre grid, split into
   wall layers (y < 0.05 or y > 0.95) and the core, and into strips of half-width 0.1 about
   the pattern corners (x where a wall's ζ̂ changes) and the rest; and the rms over y of the
   x-averaged residual, which is what moves x-averaged quantities such as the net flow.

    python validation/pinn_generalization.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: eofpinn

from eofpinn.cases import load_case  # noqa: E402
from eofpinn.pinn_runs import load_checkpoint  # noqa: E402
from eofpinn.solvers.pinn.channel import ChannelTask  # noqa: E402
from eofpinn.solvers.pinn.losses import pde_residuals  # noqa: E402
from eofpinn.solvers.pinn.trainer import Trainer  # noqa: E402

FRESH_SEEDS = (11, 12)
GRID = 200
WALL_LAYER = 0.05
CORNER_HALF_WIDTH = 0.1


def trained(run_dir: Path, case_file: str | Path | None = None) -> Trainer:
    """The trainer of a run directory at its checkpoint, with the [pinn] settings it recorded
    (--set overrides included); the case from its case.toml, or `case_file`."""
    import dataclasses

    from eofpinn.cases.pinn_settings import recorded_settings

    case = load_case(case_file if case_file is not None else run_dir / "case.toml")
    state = load_checkpoint(run_dir / "checkpoint.pt")
    settings = recorded_settings(state["settings"])
    case = dataclasses.replace(case, pinn=settings)
    trainer = Trainer(ChannelTask(case, settings), settings)
    trainer.load_state(state)
    return trainer


def loss_terms_at(trainer: Trainer, points) -> dict[str, float]:
    trainer.task.bind(trainer.model, points)
    with torch.no_grad():
        return {name: float(value) for name, value in trainer.task.loss_terms(trainer.model, points).items()}


def fresh_points(trainer: Trainer, seed: int):
    points = trainer.task.sample(torch.Generator().manual_seed(seed))
    return type(points).from_state_dict(points.state_dict(), trainer.device, trainer.dtype)


def residual_grid(trainer: Trainer) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """PDE residuals (GRID × GRID) at cell centres, gauges taken over the run's own points."""
    problem = trainer.task.problem
    x = (np.arange(GRID) + 0.5) / GRID * problem.length_ratio
    y = (np.arange(GRID) + 0.5) / GRID
    mesh = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1).reshape(-1, 2)
    points = torch.as_tensor(mesh, dtype=trainer.dtype, device=trainer.device)
    model = trainer.model
    trainer.task.bind(model, trainer.points)
    with torch.no_grad():
        jets = model.gauged_jets(points)
        residuals = pde_residuals(problem, jets, model.field, model.formulation.flux_force)
    return x, y, {name: r.cpu().numpy().reshape(GRID, GRID) for name, r in residuals.items()}


def rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values**2))) if values.size else float("nan")


def report(run_dir: Path) -> None:
    trainer = trained(run_dir)
    own = loss_terms_at(trainer, trainer.points)
    fresh = [loss_terms_at(trainer, fresh_points(trainer, seed)) for seed in FRESH_SEEDS]
    print(f"{run_dir} (step {trainer.step})")
    print(f"{'term':16s} {'collocation':>12s} " + " ".join(f"{'fresh ' + str(s):>12s}" for s in FRESH_SEEDS)
          + f" {'ratio':>8s}")
    for name, value in own.items():
        worst = max(f[name] for f in fresh)
        ratio = worst / value if value > 0 else float("inf")
        print(f"{name:16s} {value:12.2e} " + " ".join(f"{f[name]:12.2e}" for f in fresh) + f" {ratio:8.1f}")

    x, y, residuals = residual_grid(trainer)
    problem = trainer.task.problem
    corners = sorted({cx for cx, _ in problem.pattern_corners()})
    near_corner = np.zeros(x.size, dtype=bool)
    for cx in corners:
        distance = np.abs(x - cx)
        if problem.ends == "periodic":
            distance = np.minimum(distance, problem.length_ratio - distance)
        near_corner |= distance < CORNER_HALF_WIDTH
    layer = (y < WALL_LAYER) | (y > 1.0 - WALL_LAYER)
    print(f"\n{'residual':12s} {'rms':>9s} {'walls':>9s} {'core':>9s} {'corners':>9s} {'elsewhere':>9s} "
          f"{'x-mean':>9s}   (grid {GRID}², walls: y within {WALL_LAYER} of a wall, corners: |x − x_c| < "
          f"{CORNER_HALF_WIDTH})")
    for name, r in residuals.items():
        print(f"{name:12s} {rms(r):9.2e} {rms(r[:, layer]):9.2e} {rms(r[:, ~layer]):9.2e} "
              f"{rms(r[near_corner]):9.2e} {rms(r[~near_corner]):9.2e} {rms(r.mean(axis=0)):9.2e}")
    print()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit(__doc__)
    for run in args:
        report(Path(run))


if __name__ == "__main__":
    main()
