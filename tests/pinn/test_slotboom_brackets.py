"""Ion brackets from the Slotboom exponent (formulation ion_brackets = "slotboom").

Each ion's bracket ∇c± + ẑ± c±∇φ enters the Nernst–Planck residuals, Stokes' body force and the
no-flux walls' term. Written out, inside a double layer it is the difference of two terms of
order c±|∇ψ|; formed as c±(∇N± − ẑ± Ê e_x) from the exponent N± = ln c± + ẑ±ψ that Slotboom ions
carry, nothing cancels. The two forms agree in float64, and only the second keeps the residuals
of the exact solution at zero in float32 (docs/method.md "Residuals below float32's rounding").
"""

from __future__ import annotations

import pytest
import torch

from eofpinn.cases import load_case, straight_problem
from eofpinn.cases.pinn_settings import SettingError, replace
from eofpinn.solvers.pinn import ChannelTask
from eofpinn.solvers.pinn.formulation import Formulation, PINNModel
from eofpinn.solvers.pinn.losses import loss_terms


def _terms(case_name: str, brackets: str) -> dict[str, float]:
    case = load_case(case_name)
    settings = replace(case.pinn, {"formulation.ion_brackets": brackets, "network.width": 16,
                                   "network.depth": 2, "points.n_interior": 300, "points.n_boundary": 40})
    task = ChannelTask(case, settings)
    model = task.build_model(torch.Generator().manual_seed(0)).double()
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():  # the output layers start near zero, where N± is uniform: move them off it
        for block in model.networks.blocks.values():
            layer = block.layers[-1]
            layer.weight.add_(0.3 * torch.randn(layer.weight.shape, generator=generator, dtype=layer.weight.dtype))
    sampled = task.sample(torch.Generator().manual_seed(1))
    points = type(sampled).from_state_dict(sampled.state_dict(), torch.device("cpu"), torch.float64)
    task.bind(model, points)
    return {name: float(value.detach()) for name, value in task.loss_terms(model, points).items()}


@pytest.mark.parametrize("case_name", ["patterned_zeta", "zeta_step", "cacl2_channel", "nanochannel_conductance"])
def test_the_slotboom_brackets_give_the_same_loss_in_float64(case_name):
    """Networks off any solution (random output layers), a field along x, advection (Pe > 0),
    charge walls and a 2:1 salt: every loss term the same to 1e-9, the ion terms included."""
    expanded, slotboom = _terms(case_name, "expanded"), _terms(case_name, "slotboom")
    assert set(expanded) == set(slotboom)
    assert {"np_plus", "np_minus", "stokes_x", "stokes_y"} <= set(expanded)
    for name, value in expanded.items():
        assert slotboom[name] == pytest.approx(value, rel=1e-9, abs=1e-300), name


def test_only_the_slotboom_brackets_keep_the_exact_solution_exact_in_float32(small_settings, points_off_the_walls,
                                                                             exact_networks_factory):
    """ε = 0.02, ζ̂ = 4 (the hardest cell of the straight-channel table): with the expanded
    brackets the float32 Nernst–Planck residual of the exact solution is 4e-5 in mean square,
    the rounding of terms of order c₋ψ_y² ≈ 1e7; with the Slotboom ones it is below 1e-18."""
    class Float32(exact_networks_factory):
        """The exact networks' raw jets rounded to float32 (then mapped by the formulation in float32)."""

        def raw_jets(self, points, mode="taylor"):
            return {k: v.float() for k, v in super().raw_jets(points.double(), mode).items()}

    problem = straight_problem(0.02, 4.0, 1.0)
    found = {}
    for brackets in ("expanded", "slotboom"):
        settings = replace(small_settings, {"formulation.gauges": "penalty", "formulation.ion_brackets": brackets})
        form = Formulation.build(problem, settings.formulation)
        points = points_off_the_walls(problem, settings)
        points = type(points).from_state_dict(points.state_dict(), torch.device("cpu"), torch.float32)
        found[brackets] = loss_terms(problem, PINNModel(Float32(problem, form), form), points)
    assert float(found["expanded"]["np_minus"]) > 1e-6
    for name in ("np_plus", "np_minus", "stokes_y", "wall_ions"):
        assert float(found["slotboom"][name]) < 1e-18, name


def test_slotboom_brackets_need_slotboom_ions():
    with pytest.raises(SettingError, match='formulation.ion_brackets.*"slotboom" with concentrations = "slotboom"'):
        replace(load_case("straight_channel").pinn, {"formulation.concentrations": "log",
                                                      "formulation.ion_brackets": "slotboom"})


def test_auto_brackets_are_the_slotboom_ones_wherever_the_ions_are_slotboom_ions():
    """The default ("auto") forms the brackets from the Slotboom exponent with Slotboom ions (the
    default concentrations), and writes them out with "log" or "direct" ions, which have none."""
    settings = load_case("straight_channel").pinn
    assert settings.formulation.ion_brackets == "auto" and settings.formulation.slotboom_brackets
    for concentrations in ("log", "direct"):
        changed = replace(settings, {"formulation.concentrations": concentrations})
        assert changed.formulation.ion_brackets == "auto" and not changed.formulation.slotboom_brackets
    assert not replace(settings, {"formulation.ion_brackets": "expanded"}).formulation.slotboom_brackets
