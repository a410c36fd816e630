"""Linear electrokinetic response (issue 13 (e), (f)): Onsager reciprocity L12 = L21 (exact and FD),
conductance against the thin-layer estimate, streaming against Helmholtz–Smoluchowski."""

import dataclasses

import numpy as np
import pytest

from eofpinn import load_case
from eofpinn.cases import scalings as sc
from eofpinn.physics.exact import wall_potentials
from eofpinn.physics.thin_layer import (
    bulk_conductivity, crossover_concentration, ion_mobility, smoluchowski_streaming_current,
    smoluchowski_streaming_potential, thin_layer_conductance,
)
from eofpinn.validation.charge_transport import exact_response, fd_response, reciprocity_error
from validation.charge_transport import CACL2, KCL, _sigma_step, slit_case


@pytest.mark.parametrize("electrolyte", [KCL, CACL2], ids=["KCl", "CaCl2"])
@pytest.mark.parametrize("concentration", [1e-3, 1.0, 1e3])  # 1 µM … 1 M
@pytest.mark.parametrize("height", [1e-7, 1e-6])
def test_exact_coefficients_obey_onsager(electrolyte, concentration, height):
    """ε from 3e-4 to 3 (overlapping layers): L12 = L21 to round-off (measured ≤ 1.2e-14)."""
    response = exact_response(slit_case(concentration, height, electrolyte=electrolyte))
    assert reciprocity_error(response) < 1e-12


def test_thin_layer_conductance_hand_calculation():
    """(1/L)[(μ₊ + μ₋) F c0 H + 2 μ_K⁺ |σ|] for 1 mM KCl, H = 100 nm, L = 1 µm, σ = −20 mC/m²."""
    e = KCL
    mu_k, mu_cl = (ion_mobility(1, d, 298.15) for d in (1.96e-9, 2.03e-9))
    assert mu_k == pytest.approx(96485.33212 * 1.96e-9 / (8.314462618 * 298.15), rel=1e-15)
    expected = ((mu_k + mu_cl) * 96485.33212 * 1.0 * 1e-7 + 2 * mu_k * 0.02) / 1e-6
    assert thin_layer_conductance(e, 1e-7, 1e-6, -0.02) == pytest.approx(expected, rel=1e-14)
    assert bulk_conductivity(e) == pytest.approx(0.01498, rel=1e-3)  # 1 mM KCl: 0.15 mS/cm
    # c*: the surface term equals the bulk term (Du ≈ 1): 2.04 mM for H = 100 nm, ∝ 1/H.
    assert crossover_concentration(e, 1e-7, -0.02) == pytest.approx(2.036, rel=1e-3)
    assert crossover_concentration(e, 1e-6, -0.02) == pytest.approx(0.2036, rel=1e-3)


def test_conductance_bulk_line_plateau_and_crossover():
    """Exact (EDL-resolved) G(c): → the thin-layer/bulk value at 1 M (≤ 0.3 %), a plateau at 1 µM that
    does not depend on H (4.53 vs 4.64 mS/m for H = 0.1 and 1 µm, ≤ 3 %) and lies above the thin-layer
    plateau 3.05 mS/m (electroosmotic convection of the layers' charge, left out by the estimate)."""
    g = {h: {c: exact_response(slit_case(c, h))["L22"] for c in (1e-3, 1e3)} for h in (1e-7, 1e-6)}
    for h in g:
        thin = thin_layer_conductance(dataclasses.replace(KCL, concentration_mol_m3=1e3), h, 1e-6, -0.02)
        assert g[h][1e3] == pytest.approx(thin, rel=3e-3)
    plateau_thin = 2 * ion_mobility(1, 1.96e-9, 298.15) * 0.02 / 1e-6
    assert g[1e-7][1e-3] == pytest.approx(g[1e-6][1e-3], rel=3e-2)
    assert 1.3 < g[1e-7][1e-3] / plateau_thin < 1.6


def test_streaming_tends_to_helmholtz_smoluchowski_for_thin_layers():
    """1 M KCl, H = 100 nm (ε = 0.003): streaming current and potential within 1 % of HS with the
    solved ζ; at 1 mM (Du = 2) the potential is a quarter of HS's (surface conduction)."""
    for c, current_ratio, potential_ratio in ((1e3, (0.99, 1.0), (0.99, 1.0)), (1.0, (0.8, 0.9), (0.2, 0.3))):
        case = slit_case(c, 1e-7, 1e-6)
        e, s = case.electrolyte, case.scalings
        response = exact_response(case)
        zeta = wall_potentials(case.problem)[0] * s.thermal_voltage_V
        hs_current = smoluchowski_streaming_current(sc.permittivity(e), e.viscosity_Pa_s, zeta, 1.0, 1e-7, 1e-6)
        hs_potential = smoluchowski_streaming_potential(sc.permittivity(e), e.viscosity_Pa_s, zeta, 1.0,
                                                        bulk_conductivity(e))
        assert current_ratio[0] < response["L21"] / hs_current < current_ratio[1]
        assert potential_ratio[0] < (-response["L21"] / response["L22"]) / hs_potential < potential_ratio[1]


@pytest.mark.parametrize("electrolyte", [KCL, CACL2], ids=["KCl", "CaCl2"])
def test_fd_onsager_straight_channel(electrolyte):
    """FD (9 × 162; four solves about equilibrium): |L12 − L21|/|L12| ≤ 1e-4 (measured 1.7e-6, 6.3e-6 on
    9 × 322), and each within 1e-3 of the exact coefficient."""
    case = slit_case(1.0, 1e-7, 2e-7, electrolyte=electrolyte)
    fd, exact = fd_response(case, 9, 162), exact_response(case)
    assert reciprocity_error(fd) < 1e-4
    for key in ("L11", "L12", "L21", "L22"):
        assert fd[key] == pytest.approx(exact[key], rel=1e-3), key


@pytest.mark.parametrize("name", ["zeta_step", "sigma_step"])
def test_fd_onsager_two_dimensional_channels_on_a_coarse_grid(name):
    """A ζ step and a σ step between reservoirs (2D fields, concentration polarisation): L12 = L21 to
    1e-3 already on 33 × 42 (measured 1.4e-5 for the ζ step; 6.5e-7 and 3.4e-6 on 65 × 162)."""
    case = load_case("zeta_step")
    if name == "sigma_step":
        case = _sigma_step(case)
    assert reciprocity_error(fd_response(case, 33, 42)) < 1e-3


@pytest.mark.slow
def test_fd_onsager_patterned_channel():
    """patterned_zeta on its own grid (161 × 162, edge_stretch 2.5): ≤ 1e-3."""
    case = load_case("patterned_zeta")
    assert reciprocity_error(fd_response(case, case.fd.nx, case.fd.ny)) < 1e-3
