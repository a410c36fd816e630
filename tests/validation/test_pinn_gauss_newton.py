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
