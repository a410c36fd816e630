"""Shared helpers of the PINN tests: small settings and an "exact network".

`ExactNetworks` stands in for the trained blocks: its raw jets are the exact straight-channel
solution (physics.md §4) pushed back through the formulation's maps, so that the formulation,
the losses and the residuals can be checked against zero at float64.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from eofpinn.cases import straight_problem
from eofpinn.cases.model import PINNSettings
from eofpinn.cases.pinn_settings import replace
from eofpinn.physics.exact import exact_derivatives
from eofpinn.solvers.pinn import derivatives as jets
from eofpinn.solvers.pinn.formulation import Formulation

SMALL = replace(PINNSettings(), {
    "steps": 40, "network.width": 16, "network.depth": 2, "points.n_interior": 200, "points.n_boundary": 40,
    "dtype": "float64", "device": "cpu", "records.log_every": 1, "records.checkpoint_every": 10,
    "records.eval_nx": 12, "records.eval_ny": 24, "network.output_gain": 0.1,
})


def _jet(d) -> torch.Tensor:
    return torch.stack([torch.as_tensor(np.asarray(v, float)) for v in (d.f, d.x, d.y, d.xx, d.yy)])


def _reciprocal(a: torch.Tensor) -> torch.Tensor:
    """Jet of 1/a."""
    r = 1.0 / a[0]
    return torch.stack((r, -a[1] * r**2, -a[2] * r**2, (2 * a[1] ** 2 / a[0] - a[3]) * r**2,
                        (2 * a[2] ** 2 / a[0] - a[4]) * r**2))


def _log(a: torch.Tensor) -> torch.Tensor:
    """Jet of log a."""
    r = 1.0 / a[0]
    return torch.stack((torch.log(a[0]), a[1] * r, a[2] * r, a[3] * r - (a[1] * r) ** 2, a[4] * r - (a[2] * r) ** 2))


class ExactNetworks(torch.nn.Module):
    """Raw block jets that the formulation maps onto the exact solution (inverse maps)."""

    def __init__(self, problem, formulation: Formulation):
        super().__init__()
        self.problem, self.form = problem, formulation

    def raw_jets(self, points: torch.Tensor, mode: str = "taylor") -> dict[str, torch.Tensor]:
        x, y = points[:, 0].detach().numpy(), points[:, 1].detach().numpy()
        exact = {k: _jet(v) for k, v in exact_derivatives(self.problem, x, y).items()}
        form, y_t = self.form, points[:, 1]
        inv_d = _reciprocal(jets.wall_distance_jet(y_t))
        psi = exact["psi"]
        if form.walls is None:
            raw = {"psi": psi}
        else:  # hard: ψ = B + d N; charge walls: ψ = B + N
            raw = {"psi": jets.product(psi - form.psi_wall_jet(points), inv_d) if form.hard_psi
                   else psi - form.psi_wall_jet(points)}
        for name, valence in zip(("c_plus", "c_minus"), form.valences):
            c = exact[name]
            if form.concentrations == "direct":
                zb, zt = (profile.segments[0].zeta_hat for profile in form.walls) if form.hard_ions else (0, 0)
                one = torch.ones_like(y_t)
                wall = jets.wall_blend_jet(y_t, jets.jet_of_x(np.exp(-valence * zb) * one, 0 * one, 0 * one),
                                           jets.jet_of_x(np.exp(-valence * zt) * one, 0 * one, 0 * one))
                r = c if not form.hard_ions else jets.product(c - wall, inv_d)
            else:
                r = _log(c)
                if form.concentrations == "slotboom":
                    r = r + valence * psi
                elif form.hard_ions:
                    r = r + valence * form.psi_wall_jet(points)
                if form.hard_ions:
                    r = jets.product(r, inv_d)
                r = r / form.ion_scale
            raw[name] = r
        u, v = exact["u"], exact["v"]
        base = form.flow_base_jet(points) if form.walls is not None else None
        if base is not None:
            u = u - base
        if form.hard_velocity:
            u, v = jets.product(u, inv_d), jets.product(v, inv_d)
            if form.squared_v:
                v = jets.product(v, inv_d)
        pressure = exact["P"] - form.pressure_drop_jet(points[:, 0])
        if form.pressure == "core" and not form.paper_model:
            pressure = pressure + form.salt_osmotic_jet(exact["c_plus"], exact["c_minus"])
        if form.pressure == "total" and not form.paper_model:
            pressure = pressure + (exact["c_plus"] + exact["c_minus"] - jets.constant_jet(2.0, pressure)) / (
                2 * self.problem.debye_ratio**2)
        scale = form.velocity_scale
        pressure_scale = form.pressure_scale * (scale if form.pressure in ("excess", "core") else 1.0)
        raw["flow"] = torch.stack((u / scale, v / (scale * form.v_scale), pressure / pressure_scale), dim=-1)
        return {k: (val.unsqueeze(-1) if val.dim() == 2 else val) for k, val in raw.items()}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small networks run fastest on one thread; on a shared 2-core machine two OpenMP threads
    can be ten times slower than one (measured 150 vs 15 ms per step)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def exact_networks_factory():
    return ExactNetworks


@pytest.fixture
def small_settings() -> PINNSettings:
    return SMALL


def _points_off_the_walls(problem, settings: PINNSettings):
    """The collocation of `problem` (seed 0) with every point moved 1e-7 inside the walls: a point
    exactly on a wall would divide by d = 0 in ExactNetworks' inverse maps."""
    from eofpinn.solvers.pinn.collocation import sample_collocation

    points = sample_collocation(problem, settings.points, torch.Generator().manual_seed(0))
    for wall, y in (("bottom", 1e-7), ("top", 1 - 1e-7)):
        getattr(points, wall)[:, 1] = y
    points.interior[:, 1].clamp_(1e-7, 1 - 1e-7)
    for end in ("inlet", "outlet"):
        getattr(points, end)[:, 1].clamp_(1e-7, 1 - 1e-7)
    return points


@pytest.fixture
def points_off_the_walls():
    return _points_off_the_walls


@pytest.fixture
def quick_problem():
    """ε = 0.2, ζ̂ = 1, Ê = 1, periodic, no-flux walls: a double layer small networks resolve."""
    return straight_problem(0.2, 1.0, 1.0)



def _file_trainer(case, settings, out_dir):
    """A trainer of the channel task with the run-directory observers of eofpinn.pinn_runs
    (checkpointer, snapshots, history files, in that order)."""
    from eofpinn.pinn_runs import file_observers
    from eofpinn.solvers.pinn import ChannelTask
    from eofpinn.solvers.pinn.trainer import Trainer

    return Trainer(ChannelTask(case, settings), settings, file_observers(out_dir, case.name))


@pytest.fixture
def file_trainer():
    return _file_trainer
