"""The exact straight-channel solution with charge walls and z₊:z₋ salts (issue 13 (b)):
the Neumann condition −∂ψ/∂n = σ̂ against Gouy–Chapman/Grahame to 1e-9, the first integral,
Dirichlet ↔ Neumann consistency, mixed walls, residuals and the open-circuit field."""

import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import quad

from eofpinn import solve
from eofpinn.cases import ChargeSegment, ZetaSegment, case_from_problem, straight_problem
from eofpinn.physics.electrolyte import grahame_charge, grahame_zeta, osmotic_function
from eofpinn.physics.exact import (
    exact_derivatives, exact_transport, gouy_chapman, open_circuit_field, poisson_boltzmann, transport_coefficients,
    wall_potentials,
)
from eofpinn.physics.residuals import residuals

Y = np.linspace(0.0, 1.0, 2001)


def charged_problem(eps, bottom, top=None, valences=(1.0, -1.0), **options):
    """A straight channel whose walls are ZetaSegment/ChargeSegment (top defaults to bottom)."""
    top = bottom if top is None else top
    return dataclasses.replace(straight_problem(eps, 0.0, **options), zeta_bottom=(bottom,), zeta_top=(top,),
                               valence_plus=valences[0], valence_minus=valences[1])


def charge_segment(eps, charge_hat, valences=(1.0, -1.0), length=1.0):
    return ChargeSegment(0.0, length, grahame_zeta(charge_hat * eps, *valences), charge_hat)


@pytest.mark.parametrize("zeta", [-4.0, -1.0, 2.0])
def test_charge_wall_reproduces_gouy_chapman_and_grahame(zeta):
    """A thin layer (ε = 0.005) on a wall of charge σ̂ = (2/ε) sinh(ζ̂/2): the wall potential is ζ̂ and
    the profile 4 artanh(tanh(ζ̂/4) e^{−d/ε}) to 1e-9. The sign convention −∂ψ/∂n = σ̂ (n into the
    fluid) makes a negative charge a negative potential."""
    eps = 0.005
    sigma = grahame_charge(zeta) / eps
    psi, dpsi = poisson_boltzmann(Y, eps, 0.0, 0.0, charge_bottom=sigma, charge_top=sigma)
    superposed = gouy_chapman(zeta, Y, eps) + gouy_chapman(zeta, 1 - Y, eps)
    assert np.max(np.abs(psi - superposed)) < 1e-9 * abs(zeta)
    assert abs(psi[0] - zeta) < 1e-9 * abs(zeta) and abs(psi[-1] - zeta) < 1e-9 * abs(zeta)
    assert -dpsi[0] == pytest.approx(sigma, rel=1e-12) and dpsi[-1] == pytest.approx(sigma, rel=1e-12)
    assert math.copysign(1, psi[0]) == math.copysign(1, sigma)


@pytest.mark.parametrize("valences", [(2.0, -1.0), (1.0, -2.0), (3.0, -1.0)])
def test_asymmetric_salt_thin_layer_obeys_grahame(valences):
    eps, s = 0.005, -6.0  # σ λ_D/(ε_w V_T) = −6
    psi, _ = poisson_boltzmann(Y, eps, 0.0, 0.0, charge_bottom=s / eps, charge_top=s / eps, valences=valences)
    assert psi[0] == pytest.approx(grahame_zeta(s, *valences), rel=1e-9)


@pytest.mark.parametrize("valences,eps,zeta", [((2.0, -1.0), 0.1, -2.0), ((1.0, -2.0), 0.05, 3.0),
                                               ((2.0, -1.0), 0.3, 1.5)])
def test_asymmetric_profile_matches_first_integral_quadrature_to_1e_9(valences, eps, zeta):
    """y(ψ) = ε ∫_ψ^ζ dψ' / sqrt(2(G(ψ') − G(ψ_m))), G the z₊:z₋ osmotic function: an independent
    route to the profile (no closed form exists for z₊:z₋)."""
    psi_mid = poisson_boltzmann(np.array([0.5]), eps, zeta, valences=valences)[0][0]
    y_test = np.minimum([0.0, 0.3 * eps, eps, 3 * eps], 0.4)
    psi, _ = poisson_boltzmann(y_test, eps, zeta, valences=valences)
    g_mid = osmotic_function(psi_mid, *valences)
    for y_i, psi_i in zip(y_test, psi):
        integrand = lambda s: 1.0 / np.sqrt(2.0 * (osmotic_function(s, *valences) - g_mid))  # noqa: E731
        lo, hi = sorted((psi_i, zeta))
        y_quad = eps * quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
        slope = abs(np.sqrt(2.0 * (osmotic_function(psi_i, *valences) - g_mid)) / eps)
        assert abs(y_quad - y_i) * slope <= 1e-9 * abs(zeta)


@pytest.mark.parametrize("valences", [(1.0, -1.0), (2.0, -1.0)])
def test_dirichlet_and_neumann_walls_agree_with_overlapping_layers(valences):
    """ε = 0.3 (overlapping layers, Grahame does not apply): the charge −ψ'(0) of a ζ̂ = −2 wall,
    imposed as a charge, gives back ψ(0) = −2 to 1e-9 — also with the other wall a ζ wall (mixed)."""
    eps = 0.3
    _, dpsi = poisson_boltzmann(np.array([0.0, 1.0]), eps, -2.0, 1.0, valences=valences)
    psi, _ = poisson_boltzmann(np.array([0.0, 1.0]), eps, 0.0, 0.0, charge_bottom=-dpsi[0], charge_top=dpsi[1],
                               valences=valences)
    np.testing.assert_allclose(psi, [-2.0, 1.0], rtol=0, atol=1e-9)
    psi, _ = poisson_boltzmann(np.array([0.0, 1.0]), eps, -2.0, 0.0, charge_top=dpsi[1], valences=valences)
    np.testing.assert_allclose(psi, [-2.0, 1.0], rtol=0, atol=1e-9)


def test_first_integral_holds_with_charge_walls():
    eps, valences = 0.02, (2.0, -1.0)
    psi, dpsi = poisson_boltzmann(Y, eps, 0.0, 0.0, charge_bottom=-150.0, charge_top=-20.0, valences=valences)
    invariant = eps**2 * dpsi**2 / 2 - osmotic_function(psi, *valences)
    assert np.ptp(invariant) / np.max(osmotic_function(psi, *valences)) < 1e-10


CASES = {
    "sigma_walls": dict(bottom=("charge", -30.0), top=("charge", -30.0), valences=(1.0, -1.0)),
    "mixed_walls": dict(bottom=("zeta", -2.0), top=("charge", 10.0), valences=(1.0, -1.0)),
    "cacl2_sigma": dict(bottom=("charge", -25.0), top=("charge", -25.0), valences=(2.0, -1.0)),
    "cacl2_zeta": dict(bottom=("zeta", -1.5), top=("zeta", -1.5), valences=(2.0, -1.0)),
}


def build(name, eps=0.1, **options):
    spec = CASES[name]
    walls = [charge_segment(eps, value, spec["valences"], 2.0) if kind == "charge" else ZetaSegment(0.0, 2.0, value)
             for kind, value in (spec["bottom"], spec["top"])]
    defaults = dict(field_hat=1.5, length_ratio=2.0, peclet=3.0, delta_plus=0.8, delta_minus=1.2)
    return charged_problem(eps, *walls, valences=spec["valences"], **{**defaults, **options})


@pytest.mark.parametrize("equations", ["full", "paper"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_solution_zeroes_every_residual(name, equations):
    problem = build(name, pressure_drop_hat=3.0, equations=equations)
    X, Yg = np.meshgrid(np.linspace(0, 2, 7), np.linspace(0, 1, 101), indexing="ij")
    d = exact_derivatives(problem, X, Yg)
    res = residuals(problem, d["psi"], d["c_plus"], d["c_minus"], d["u"], d["v"], d["P"])
    for key, r in res.items():
        assert np.max(np.abs(r)) < 1e-7, (key, np.max(np.abs(r)))
    # No slip on both walls, whatever the wall potentials.
    assert np.max(np.abs(d["u"].f[:, [0, -1]])) < 1e-12
    # Gauss: the wall charge −∂ψ/∂n of each charge wall is the one imposed.
    y01 = np.array([0.0, 1.0])
    _, slope = poisson_boltzmann(y01, problem.debye_ratio, problem.zeta_bottom[0].zeta_hat,
                                 problem.zeta_top[0].zeta_hat, problem.zeta_bottom[0].charge_hat,
                                 problem.zeta_top[0].charge_hat, problem.valences)
    for value, segment in ((-slope[0], problem.zeta_bottom[0]), (slope[1], problem.zeta_top[0])):
        if segment.is_charge:
            assert value == pytest.approx(segment.charge_hat, rel=1e-12)


def test_open_circuit_field_cancels_the_streaming_current():
    problem = dataclasses.replace(build("sigma_walls", pressure_drop_hat=50.0, field_hat=0.0), open_circuit=True)
    field = open_circuit_field(problem)
    k = transport_coefficients(problem)
    assert field * k["current_per_field"] + 50.0 * k["current_per_pressure"] == pytest.approx(0.0, abs=1e-14)
    # Negative walls: the streaming current goes with the flow (+x), so the field opposes it.
    assert k["current_per_pressure"] > 0 and field < 0
    solution = solve(case_from_problem(problem), "exact", nx=5, ny=41)
    assert solution.case.problem.field_hat == field and solution.case.problem.open_circuit
    assert exact_transport(solution.case.problem)["current"] == pytest.approx(0.0, abs=1e-12)


def test_onsager_symmetry_of_the_exact_coefficients():
    """Q̂ per Ê and Î per Δp̂ obey ∫ y(1 − y)(c₊ − c₋) dy/(2ℓ) = (ẑ₊ − ẑ₋) ε² ∫ (ψ − ψ_wall) dy/ℓ
    (Poisson, integrated by parts twice): Pe · that is Î per Δp̂ (physics.md §7)."""
    for name in CASES:
        problem = build(name)
        k = transport_coefficients(problem)
        eps2 = problem.debye_ratio**2
        expected = problem.peclet * problem.valence_span * eps2 * k["flow_per_field"] / problem.length_ratio
        assert k["current_per_pressure"] == pytest.approx(expected, rel=1e-9), name


def test_wall_potential_of_charge_walls_is_an_output():
    problem = build("sigma_walls", eps=0.3)
    zb, zt = wall_potentials(problem)
    assert zb == zt and zb < problem.zeta_bottom[0].zeta_hat  # overlapping layers: |ψ_wall| above Grahame
