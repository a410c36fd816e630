"""Fields on a grid and their errors against a reference (method.md "Reporting a run").

Error of a field f: the relative L2 error ‖f − f_ref‖ / ‖f_ref‖ on the reference's grid, each
norm the trapezoidal L2 norm of the field over the channel (√Σ w f², w the quadrature weights
of the grid: the nodes an FD grid crowds at the walls and pattern edges count for their area,
not their number). Fields whose reference vanishes identically — v in any straight channel, p
in the paper model without a pressure drop — have no meaningful relative error; they are
measured against the velocity scale instead: where max|f_ref| < 1e-12 · max(max|(u, v)_ref|, 1)
the denominator is √A · max|(u, v)_ref| (A the channel's area), i.e. the RMS error divided by
the peak reference speed — the rule of `eofpinn validate` (validation.compare.field_errors), so
that a history's errors and `validate`'s agree on the same grid. A small but nonzero
reference (v of a patterned channel, 10× below u) keeps its own norm. The paper's metric is the mean over (φ, c₊, c₋, u)
(eofpinn.solution.PAPER_ERROR_FIELDS). All of it runs on the device; `errors` syncs once.

An open circuit's solved field Ê (the model's trainable parameter) gives φ, and its error
`field_hat` = |Ê − Ê_ref| / |Ê_ref| (|Ê − Ê_ref| when Ê_ref = 0) joins the errors: Ê_ref is the
reference solution's field, or the exact zero-current field of a straight channel
(physics.exact.open_circuit_field), against whose solution the fields are then measured.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import Tensor

from eofpinn.cases.model import FDSettings, Problem
from eofpinn.cases.pinn_settings import RecordSettings
from eofpinn.physics.exact import exact_fields, open_circuit_field, osmotic_pressure
from eofpinn.solution import FIELD_NAMES, PAPER_ERROR_FIELDS, Solution, trapezoid_weights
from eofpinn.solvers.fd.grid import edge_clustered_nodes, wall_clustered_faces, zeta_edges
from eofpinn.solvers.pinn.formulation import PINNModel
from eofpinn.validation.compare import VANISHING_FIELDS, ZERO_REFERENCE

MEAN_KEY = "mean"
AUTO_EVAL_NX = 50  # records.eval_nx = 0: x nodes of the output grid of a channel whose walls do not change along x


def eval_grid(problem: Problem, settings: RecordSettings, fd: FDSettings | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The tensor grid a PINN solution is returned on, ends and walls included: eval_ny y nodes,
    clustered at both walls by the tanh map of the case's FD cells ([fd] wall_stretch; uniform
    without `fd`); eval_nx uniform x nodes, or with eval_nx = 0 ("auto") the x nodes of the case's
    FD grid (`fd`: [fd] nx, clustered at the changes of wall condition by [fd] edge_stretch) where
    the walls change along x, and AUTO_EVAL_NX uniform ones where they do not (or without `fd`).

    The observables differentiate and integrate the written fields, so the y nodes must resolve
    the double layers: on 200 uniform nodes the exact solution of cases/cacl2_channel.toml gives a
    wall charge 3.2 % low and a conductance 0.6 % high (nanochannel_conductance 3.1 %, 0.5 %;
    thin_edl 2.3 %), on 200 clustered ones (β = 3) 3.5e-5 and 2.9e-4. The errors a straight
    channel's run records while it trains are taken on the same nodes (`Evaluator` with the case's
    [fd]), so that its last history row and `eofpinn validate` of its written fields agree.

    The x nodes of a ζ̂ step must resolve its double layers (the fields relax within a few ε of
    it, the wall potential within the transition width): the ion-flux and charge balances, which
    differentiate and integrate the written fields, measure the grid where they do not. On
    cases/zeta_step.toml (ε = 0.096, ℓ = 10) 50 uniform nodes (spacing 2ε) report an ion-flux
    spread of 0.13 and a charge balance of 3e-3 for a PINN whose own are 8.6e-2 and 9e-4 (FD's
    65 clustered nodes, 401 and 801 uniform ones agree to 1e-3)."""
    y = np.linspace(0.0, 1.0, settings.eval_ny) if fd is None else wall_clustered_faces(settings.eval_ny - 1,
                                                                                        fd.wall_stretch)
    return eval_x(problem, settings.eval_nx, fd), y


def eval_x(problem: Problem, eval_nx: int, fd: FDSettings | None = None) -> np.ndarray:
    """The x nodes of `eval_grid` for a given [pinn.records] eval_nx (0: auto)."""
    if eval_nx:
        return np.linspace(0.0, problem.length_ratio, eval_nx)
    edges = zeta_edges(problem)
    if fd is None or edges.size == 0:
        return np.linspace(0.0, problem.length_ratio, AUTO_EVAL_NX)
    return edge_clustered_nodes(problem.length_ratio, fd.nx - 1, edges, fd.edge_stretch)


def grid_points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(nx·ny, 2) points of the grid, in the [i, j] ↔ (x[i], y[j]) order of a Solution."""
    X, Y = np.meshgrid(x, y, indexing="ij")
    return np.stack((X.ravel(), Y.ravel()), axis=1)


def predict(model: PINNModel, problem: Problem, points: Tensor, batch: int = 65536) -> dict[str, Tensor]:
    """Every output field of FIELD_NAMES at points (N, 2), as flat tensors on the device."""
    parts: list[dict[str, Tensor]] = []
    for start in range(0, points.shape[0], batch):
        parts.append(model.values(points[start:start + batch]))
    values = {name: torch.cat([p[name] for p in parts]) for name in parts[0]}
    x = points[:, 0]
    field = model.field.detach() if isinstance(model.field, Tensor) else model.field
    return {
        "psi": values["psi"],
        "phi": values["psi"] + field * (problem.length_ratio - x),
        "c_plus": values["c_plus"],
        "c_minus": values["c_minus"],
        "u": values["u"],
        "v": values["v"],
        "p": values["P"] + osmotic_pressure(problem, values["c_plus"], values["c_minus"]),
    }


def relative_l2(predicted: dict[str, Tensor], reference: dict[str, Tensor], denominators: dict[str, Tensor],
                weights: Tensor | None = None) -> Tensor:
    """Per-field errors followed by their paper mean, as one tensor ordered like FIELD_NAMES + mean;
    with quadrature `weights` the norms are √Σ w e² (the L2 norm of the field), else √Σ e²."""
    root = weights.sqrt() if weights is not None else 1.0
    per_field = torch.stack([torch.linalg.vector_norm(root * (predicted[n] - reference[n])) / denominators[n]
                             for n in FIELD_NAMES])
    paper = torch.stack([per_field[FIELD_NAMES.index(n)] for n in PAPER_ERROR_FIELDS]).mean()
    return torch.cat((per_field, paper.unsqueeze(0)))


class Evaluator:
    """Errors of a model against a reference on the reference's grid (the exact solution on the
    eval grid when the reference is None and the channel is straight: `eval_grid` of the
    settings and of the case's `fd`, whose y nodes crowd at the walls; uniform without `fd`)."""

    def __init__(self, problem: Problem, reference: Solution | None, settings: RecordSettings,
                 device: torch.device, dtype: torch.dtype, fd: FDSettings | None = None):
        self.problem = problem
        self.field_reference = None  # an open circuit's Ê_ref
        if reference is None and not problem.is_straight_channel:
            self.points = None
            return
        if reference is not None:
            x, y, fields = reference.x, reference.y, reference.fields
            if problem.open_circuit:
                self.field_reference = float(reference.case.problem.field_hat)
        else:
            x, y = eval_grid(problem, settings, fd)
            X, Y = np.meshgrid(x, y, indexing="ij")
            exact = problem
            if problem.open_circuit:
                self.field_reference = open_circuit_field(problem)
                exact = dataclasses.replace(problem, field_hat=self.field_reference)
            fields = exact_fields(exact, X, Y)
        self.points = torch.as_tensor(grid_points(x, y), device=device, dtype=dtype)
        self.reference = {n: torch.as_tensor(np.asarray(fields[n]).ravel(), device=device, dtype=dtype)
                          for n in FIELD_NAMES}
        self.weights = torch.as_tensor(trapezoid_weights(x, y).ravel(), device=device, dtype=dtype)
        root = self.weights.sqrt()
        speed = torch.hypot(self.reference["u"], self.reference["v"]).max()
        floor = speed * self.weights.sum().sqrt()  # the peak speed over the whole channel
        self.denominators = {n: torch.linalg.vector_norm(root * r) for n, r in self.reference.items()}
        for name in VANISHING_FIELDS:
            if self.reference[name].abs().max() < ZERO_REFERENCE * max(float(speed), 1.0):
                self.denominators[name] = floor

    @property
    def available(self) -> bool:
        return self.points is not None

    @staticmethod
    def keys() -> tuple[str, ...]:
        return FIELD_NAMES + (MEAN_KEY,)

    def error_tensor(self, model: PINNModel) -> Tensor:
        """Errors ordered like `keys()` (then an open circuit's `field_hat`), on the device (no host sync)."""
        errors = relative_l2(predict(model, self.problem, self.points), self.reference, self.denominators,
                             self.weights)
        if self.field_reference is None:
            return errors
        scale = abs(self.field_reference) or 1.0
        return torch.cat((errors, (torch.abs(model.field.detach() - self.field_reference) / scale).reshape(1)))

    def errors(self, model: PINNModel) -> dict[str, float]:
        if not self.available:
            return {}
        names = self.keys() + (("field_hat",) if self.field_reference is not None else ())
        return dict(zip(names, self.error_tensor(model).tolist()))


def solution_on_grid(model: PINNModel, problem: Problem, x: np.ndarray, y: np.ndarray,
                     device: torch.device, dtype: torch.dtype) -> dict[str, np.ndarray]:
    """Fields (nx, ny) as float64 numpy arrays, ready for a `Solution`."""
    points = torch.as_tensor(grid_points(x, y), device=device, dtype=dtype)
    shape = (x.size, y.size)
    return {n: v.detach().to("cpu", torch.float64).numpy().reshape(shape)
            for n, v in predict(model, problem, points).items()}
