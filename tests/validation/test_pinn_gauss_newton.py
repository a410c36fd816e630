"""validation/pinn_gauss_newton.py: the Jacobian it forms, and Levenberg–Marquardt on the physics loss."""

from __future__ import annotations


def test_the_formed_jacobian_is_exact_and_lm_lowers_the_weighted_loss(small_step_fd):
    """On a 300 nm zeta step (recipe "auto": flux spreads as one-row terms, the rest point by
    point), 6 × 2 networks after 20 SOAP steps: J formed through the output jets equals a
    forward-mode J·v to rounding, and 5 LM iterations more than halve the weighted loss."""
    from validation.pinn_gauss_newton import main

    fd = small_step_fd
    got = main([str(fd / "case.toml"), "--reference", str(fd), "--soap", "20", "--lm", "5", "--set",
                "network.width=6", "--set", "network.depth=2", "--set", "points.n_interior=150",
                "--set", "points.n_boundary=30"])
    assert got["jacobian_mismatch"] < 1e-10
    assert got["loss_after"] < 0.5 * got["loss_before"]


def test_with_the_flow_block_alone_the_ions_stay_and_the_jacobian_is_still_exact(small_step_fd):
    """--blocks flow: θ is the flow block's weights only; the formed J (of those columns) still
    matches forward mode, LM lowers the loss, and ψ's error against FD does not move."""
    import torch

    from validation import pinn_gauss_newton

    fd = small_step_fd
    seen = []
    original = pinn_gauss_newton.WeightedResiduals.load

    def load(self, flat):
        original(self, flat)
        seen.append(self.model.networks.blocks["psi"].layers[0].weight.detach().clone())

    pinn_gauss_newton.WeightedResiduals.load = load
    try:
        got = pinn_gauss_newton.main([str(fd / "case.toml"), "--reference", str(fd), "--soap", "20", "--lm", "3",
                                      "--blocks", "flow", "--set", "network.width=6", "--set", "network.depth=2",
                                      "--set", "points.n_interior=150", "--set", "points.n_boundary=30"])
    finally:
        pinn_gauss_newton.WeightedResiduals.load = original
    assert got["jacobian_mismatch"] < 1e-10
    assert got["loss_after"] < got["loss_before"]
    assert len(seen) >= 2 and all(torch.equal(w, seen[0]) for w in seen)


def test_terms_pick_the_rows_of_the_residual_vector(small_step_fd, tmp_path):
    """--terms stokes_x,stokes_y,continuity with --blocks flow: the vector is those three
    residuals at the 150 interior points (450 rows), J is still exact and LM lowers that loss;
    "flow" adds the flow's boundary and spread terms, row for row; a term the case lacks is refused
    with one line that names it and the case's terms. --out writes the networks LM left as a run
    directory that loads back weight for weight, and is not overwritten."""
    import pytest
    import torch

    from validation.pinn_gauss_newton import main
    from validation.pinn_generalization import trained

    fd = small_step_fd
    common = [str(fd / "case.toml"), "--reference", str(fd), "--soap", "20", "--lm", "3", "--blocks", "flow",
              "--set", "network.width=6", "--set", "network.depth=2", "--set", "points.n_interior=150",
              "--set", "points.n_boundary=30"]
    got = main(common + ["--terms", "stokes_x,stokes_y,continuity", "--out", str(tmp_path / "lm")])
    assert got["rows"] == 450
    saved, loaded = got["model"].state_dict(), trained(tmp_path / "lm").model.state_dict()
    assert saved.keys() == loaded.keys() and all(torch.equal(saved[k], loaded[k]) for k in saved)
    with pytest.raises(SystemExit, match=r"^pinn_gauss_newton: .*lm exists; choose a new --out$"):
        main(common + ["--out", str(tmp_path / "lm")])
    assert got["jacobian_mismatch"] < 1e-10
    assert got["loss_after"] < got["loss_before"]
    # "flow": the flow's own terms, i.e. also ∂u/∂x and v at both ends' 30 points each (120 rows),
    # P at each end (60) and the volume-flux spread (1).
    assert main(common + ["--terms", "flow"])["rows"] == got["rows"] + 120 + 60 + 1
    with pytest.raises(SystemExit, match=r"^pinn_gauss_newton: --terms: no term vorticity in this case \(its terms: "
                                         r"poisson, np_plus, np_minus, stokes_x"):
        main(common + ["--terms", "stokes_x,vorticity"])
