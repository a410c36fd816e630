"""validation/pinn_from_fd.py: what the fit matches, from FD's fields and from the networks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from eofpinn.cases import Problem, ZetaSegment
from eofpinn.cases.model import PINNSettings
from eofpinn.cases.pinn_settings import replace
from eofpinn.physics.exact import osmotic_pressure
from eofpinn.solvers.pinn.collocation import section_mean
from eofpinn.solvers.pinn.formulation import build_model
from eofpinn.solvers.pinn.evaluation import grid_points, predict
from validation.pinn_from_fd import fit_targets, model_targets


def test_fit_targets_are_the_slotboom_exponents_and_the_excess_pressure():
    """Boltzmann ions c± = e^{∓ψ} have N± = ln c± ± ψ = 0; P = p − Π."""
    problem = Problem(debye_ratio=0.1, length_ratio=2.0, field_hat=1.0, zeta_bottom=(ZetaSegment(0.0, 2.0, -1.0),),
                      zeta_top=(ZetaSegment(0.0, 2.0, -1.0),), ends="reservoir")
    rng = np.random.default_rng(0)
    psi = rng.normal(size=(5, 7))
    fields = {"psi": psi, "c_plus": np.exp(-psi) * 1.02, "c_minus": np.exp(psi), "u": rng.normal(size=psi.shape),
              "v": rng.normal(size=psi.shape), "p": rng.normal(size=psi.shape)}
    targets = fit_targets(problem, fields)
    np.testing.assert_allclose(targets["N_plus"], np.log(1.02), rtol=0, atol=1e-14)
    np.testing.assert_allclose(targets["N_minus"], 0.0, rtol=0, atol=1e-14)
    np.testing.assert_allclose(targets["P"], fields["p"] - osmotic_pressure(problem, fields["c_plus"], fields["c_minus"]))


def test_model_targets_equal_the_fit_targets_of_the_models_own_fields():
    """The networks' side of the fit (with gradients) is the FD side applied to what the model
    predicts: the same ψ, N±, u, v and P (reservoir ends: no pressure gauge; periodic ends: the
    outlet section's mean of P is 0, as the model's own exact gauge makes it)."""
    wall = (ZetaSegment(0.0, 1.0, -2.0), ZetaSegment(1.0, 2.0, -0.4))
    problem = Problem(debye_ratio=0.1, length_ratio=2.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall,
                      ends="reservoir", zeta_transition=0.05)
    settings = replace(PINNSettings(), {"network.width": 12, "network.depth": 2, "network.output_gain": 1.0})
    model = build_model(problem, settings, torch.Generator().manual_seed(0)).double()
    x, y = np.linspace(0.0, 2.0, 9), np.linspace(0.0, 1.0, 11)
    points = torch.as_tensor(grid_points(x, y))
    outlet = torch.as_tensor(np.stack((np.full_like(y, 2.0), y), axis=1))
    got = {k: v.detach().numpy() for k, v in model_targets(model, problem, points, outlet).items()}
    predicted = {k: v.numpy() for k, v in predict(model, problem, points).items()}
    expected = fit_targets(problem, predicted)
    for name in ("psi", "N_plus", "N_minus", "u", "v", "P"):
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-12, atol=1e-12, err_msg=name)
    assert np.abs(expected["N_plus"]).max() > 1e-2 and np.abs(got["P"][-len(y):]).mean() > 1e-3
    periodic = dataclasses.replace(problem, ends="periodic")
    gauged = model_targets(model, periodic, points, outlet)["P"].detach().numpy()
    heights = torch.as_tensor(y)
    assert abs(float(section_mean(torch.as_tensor(gauged[-len(y):]), heights))) < 1e-12
    level = float(section_mean(torch.as_tensor(got["P"][-len(y):]), heights))
    np.testing.assert_allclose(gauged - got["P"], -level, rtol=0, atol=1e-12)
    assert abs(level - np.mean(got["P"][-len(y):])) > 1e-6  # the section's mean, not the plain one


def test_levenberg_marquardt_fits_v_and_moves_only_the_flow_block(tmp_path, small_step_fd):
    """--first lm on v alone (300 nm zeta step, 8 × 2 networks): 80 iterations bring v from its
    start (the fluid at rest: relative error 1) under 5e-2 (1.3–2.1e-2 over seeds 0–3), and ψ, N±,
    which depend on other blocks, keep their start values exactly."""
    from validation.pinn_from_fd import main

    fd = small_step_fd
    common = [str(fd / "case.toml"), str(fd), "--fields", "v", "--set", "network.width=8", "--set", "network.depth=2",
              "--lbfgs", "0", "--first", "lm"]
    start = main(common + ["--out", str(tmp_path / "start"), "--steps", "0"])["fit"]
    fitted = main(common + ["--out", str(tmp_path / "fit"), "--steps", "80"])["fit"]
    assert start["v"] == pytest.approx(1.0, abs=1e-6)
    assert fitted["v"] < 5e-2
    for name in ("psi", "N_plus", "N_minus"):
        assert fitted[name] == start[name], name


def test_the_fit_moves_the_fitted_field_toward_fd_and_writes_a_run_that_reloads(tmp_path, small_step_fd):
    """End to end on a short zeta step (cases/zeta_step.toml cut to 300 nm, FD 17 × 18): fitting ψ
    alone lowers its error against FD (from the double-layer base the networks start at), leaves
    the other blocks where they were, and writes a run directory that loads as a trained run."""
    from validation.pinn_from_fd import main
    from validation.pinn_generalization import trained

    fd = small_step_fd
    common = [str(fd / "case.toml"), str(fd), "--fields", "psi", "--set", "network.width=8",
              "--set", "network.depth=2", "--lbfgs", "0"]
    start = main(common + ["--out", str(tmp_path / "start"), "--steps", "0"])["fit"]
    fitted = main(common + ["--out", str(tmp_path / "fit"), "--steps", "200", "--lbfgs", "100"])["fit"]
    assert fitted["psi"] < 0.5 * start["psi"] and start["psi"] > 1e-3
    for name in ("N_plus", "N_minus", "u", "v", "P"):
        assert fitted[name] == pytest.approx(start[name], rel=0.05), name
    run = trained(tmp_path / "fit")
    assert run.model.networks.blocks["psi"].layers[0].out_features == 8
