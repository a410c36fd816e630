"""Exact straight-channel solution (physics.md §4) against its limits and the residuals."""

import numpy as np
import pytest
from scipy.integrate import quad

from eofpinn.cases import straight_problem
from eofpinn.physics.exact import (
    debye_hueckel,
    exact_derivatives,
    exact_fields,
    gouy_chapman,
    poisson_boltzmann,
)
from eofpinn.physics.residuals import residuals

Y = np.linspace(0.0, 1.0, 401)


def test_debye_hueckel_limit_is_approached_quadratically_in_zeta():
    errors = []
    for zeta in (0.01, 0.05):
        psi, _ = poisson_boltzmann(Y, 0.1, zeta)
        errors.append(np.max(np.abs(psi - debye_hueckel(zeta, Y, 0.1))) / zeta)
    assert errors[0] < 1e-6
    # The first nonlinear correction is O(ζ̂²): five times the potential, 25 times the error.
    assert errors[1] / errors[0] == pytest.approx(25.0, rel=0.02)


@pytest.mark.parametrize("zeta", [1.0, 4.0, -6.0])
def test_gouy_chapman_limit_for_thin_layers(zeta):
    psi, _ = poisson_boltzmann(Y, 0.005, zeta)
    superposed = gouy_chapman(zeta, Y, 0.005) + gouy_chapman(zeta, 1 - Y, 0.005)
    assert np.max(np.abs(psi - superposed)) < 1e-9 * abs(zeta)


def test_helmholtz_smoluchowski_plug_for_thin_layers():
    problem = straight_problem(debye_ratio=0.005, zeta_hat=-3.0, field_hat=2.0)
    u = exact_fields(problem, np.zeros(3), np.array([0.3, 0.5, 0.7]))["u"]
    np.testing.assert_allclose(u, 6.0, rtol=1e-12)


@pytest.mark.parametrize("eps,zeta", [(0.1, 1.0), (0.02, 4.0), (0.3, -2.0)])
def test_profile_matches_first_integral_quadrature_to_1e_9(eps, zeta):
    """y(ψ) = ε ∫_ψ^ζ dψ' / sqrt(2(cosh ψ' − cosh ψ_m)) is an independent route to the profile."""
    psi_mid = poisson_boltzmann(np.array([0.5]), eps, zeta)[0][0]
    y_test = np.minimum([0.0, 0.3 * eps, eps, 3 * eps, 6 * eps], 0.4)
    psi, _ = poisson_boltzmann(y_test, eps, zeta)
    for y_i, psi_i in zip(y_test, psi):
        integrand = lambda s: 1.0 / np.sqrt(2.0 * (np.cosh(s) - np.cosh(psi_mid)))  # noqa: E731
        lo, hi = sorted((psi_i, zeta))
        y_quad = eps * quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
        slope = abs(np.sqrt(2.0 * (np.cosh(psi_i) - np.cosh(psi_mid))) / eps)
        # Convert the position mismatch to a potential error through the local slope.
        assert abs(y_quad - y_i) * slope <= 1e-9 * abs(zeta)


def test_first_integral_holds_across_the_channel():
    psi, dpsi = poisson_boltzmann(np.linspace(0, 1, 20001), 0.01, 5.0)
    invariant = 0.01**2 * dpsi**2 / 2 - np.cosh(psi)
    assert np.ptp(invariant) / np.cosh(5.0) < 1e-11


@pytest.mark.parametrize("equations", ["full", "paper"])
@pytest.mark.parametrize("pressure_drop", [0.0, 3.0])
def test_exact_solution_zeroes_every_residual(equations, pressure_drop):
    problem = straight_problem(0.1, 2.0, field_hat=1.5, length_ratio=2.0, peclet=3.0, delta_plus=0.8,
                               delta_minus=1.2, pressure_drop_hat=pressure_drop, equations=equations)
    X, Yg = np.meshgrid(np.linspace(0, 2, 7), np.linspace(0, 1, 101), indexing="ij")
    d = exact_derivatives(problem, X, Yg)
    res = residuals(problem, d["psi"], d["c_plus"], d["c_minus"], d["u"], d["v"], d["P"])
    for name, r in res.items():
        assert np.max(np.abs(r)) < 1e-8, name


def test_pressure_is_osmotic_plus_imposed_drop():
    problem = straight_problem(0.1, 1.0, length_ratio=2.0, pressure_drop_hat=4.0)
    f = exact_fields(problem, np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.0, 0.0]))
    osmotic = (np.cosh(1.0) - 1.0) / 0.01
    np.testing.assert_allclose(f["p"], osmotic + np.array([4.0, 2.0, 0.0]), rtol=1e-12)
    paper = straight_problem(0.1, 1.0, length_ratio=2.0, pressure_drop_hat=4.0, equations="paper")
    np.testing.assert_allclose(exact_fields(paper, np.array([0.0]), np.array([0.0]))["p"], [4.0])


def test_total_potential_has_zero_applied_part_at_outlet():
    problem = straight_problem(0.1, 1.0, field_hat=2.0, length_ratio=3.0)
    f = exact_fields(problem, np.array([0.0, 3.0]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(f["phi"], [1.0 + 6.0, 1.0], rtol=1e-13)
