"""Observables in SI units (issue 13 (d)): flow rate, mean velocity, ionic current through
several cross-sections, conductance, wall charge and potential, electroosmotic mobility —
against the exact straight channel, hand formulas and charge conservation."""

import dataclasses
import json

import numpy as np
import pytest

from eofpinn import io, load_case, solve
from eofpinn.cases import ChargeSegment, Electrolyte, ZetaSegment, case_from_problem, straight_problem
from eofpinn.cli import main
from eofpinn.physics.electrolyte import FARADAY, GAS_CONSTANT, VACUUM_PERMITTIVITY, grahame_zeta
from eofpinn.physics.exact import exact_transport, wall_potentials
from eofpinn.physics.observables import current_scale_A_m, observables

KCL = Electrolyte(1.0, 1, 1.96e-9, 2.03e-9, 78.5, 298.15, 0.89e-3, 997.0)
CACL2 = dataclasses.replace(KCL, valence_plus=2, valence_minus=-1, diffusivity_plus_m2_s=0.792e-9)


def straight(eps, bottom, top, electrolyte=KCL, **options):
    d_ref = 0.5 * (electrolyte.diffusivity_plus_m2_s + electrolyte.diffusivity_minus_m2_s)
    deltas = {"delta_plus": electrolyte.diffusivity_plus_m2_s / d_ref,
              "delta_minus": electrolyte.diffusivity_minus_m2_s / d_ref}
    problem = straight_problem(eps, 0.0, **{"field_hat": 1.0, "length_ratio": 2.0, **deltas, **options})
    z_plus, z_minus = electrolyte.dimensionless_valences
    problem = dataclasses.replace(problem, zeta_bottom=(bottom,), zeta_top=(top,), valence_plus=z_plus,
                                  valence_minus=z_minus)
    return case_from_problem(problem, electrolyte=electrolyte)


@pytest.mark.parametrize("electrolyte", [KCL, CACL2], ids=["KCl", "CaCl2"])
def test_uncharged_channel_conducts_like_the_bulk(electrolyte):
    """ζ = 0: I/ΔV = κ H/L per unit depth, κ = F² Σ zᵢ² cᵢ Dᵢ / RT (no double layer, no flow)."""
    case = straight(0.1, ZetaSegment(0, 2, 0.0), ZetaSegment(0, 2, 0.0), electrolyte, peclet=0.3)
    values = observables(solve(case, "exact", nx=5, ny=51))
    c_plus, c_minus = electrolyte.bulk_concentrations_mol_m3
    kappa = FARADAY**2 * (electrolyte.valence_plus**2 * c_plus * electrolyte.diffusivity_plus_m2_s
                          + electrolyte.valence_minus**2 * c_minus * electrolyte.diffusivity_minus_m2_s) \
        / (GAS_CONSTANT * electrolyte.temperature_K)
    s = case.scalings
    assert values["conductance_per_depth_S_m"] == pytest.approx(kappa * s.height_m / s.length_m, rel=1e-12)
    assert values["flow_rate_per_depth_m2_s"] == 0.0


SIGMA = -30.0  # σ̂ at ε = 0.1: σ λ_D/(ε_w V_T) = −3


@pytest.mark.parametrize("walls", ["charge", "zeta"])
def test_fd_straight_channel_observables_match_the_exact_solution(walls):
    """FD on 9 × 322 against the exact transport integrals: current, flow rate, wall potential and
    charge to ≤ 1e-4 (measured ≤ 4e-5); the current agrees through every cross-section and with
    the scheme's own conserved face fluxes."""
    if walls == "charge":
        wall = ChargeSegment(0, 2, grahame_zeta(SIGMA * 0.1), SIGMA)
    else:
        wall = ZetaSegment(0, 2, -2.0)
    case = straight(0.1, wall, wall, peclet=0.26, pressure_drop_hat=0.0)
    values = observables(solve(case, "fd", nx=9, ny=322))
    p, s, e = case.problem, case.scalings, case.electrolyte
    exact = exact_transport(p)
    scale = current_scale_A_m(e.charge_concentration_mol_m3, 0.5 * (e.diffusivity_plus_m2_s + e.diffusivity_minus_m2_s))
    current = exact["current"] * scale
    assert values["ionic_current_per_depth_A_m"] == pytest.approx(current, rel=1e-4)
    assert values["ionic_current_scheme_A_m"] == pytest.approx(current, rel=1e-4)
    assert values["ionic_current_section_spread"] < 1e-12
    sections = values["ionic_current_sections"]
    assert len(sections) == 5 and all(r["diffusion_A_m"] == pytest.approx(0.0, abs=1e-12 * current) for r in sections)
    flow = exact["flow_rate"] * s.velocity_scale_m_s * s.height_m
    assert values["flow_rate_per_depth_m2_s"] == pytest.approx(flow, rel=1e-4)
    assert values["electroosmotic_mobility_m2_Vs"] == pytest.approx(flow / s.height_m / s.field_V_m, rel=1e-4)
    voltage = s.field_V_m * s.length_m
    assert values["conductance_per_depth_S_m"] == pytest.approx(current / voltage, rel=1e-4)
    charge_scale = e.relative_permittivity * VACUUM_PERMITTIVITY * s.thermal_voltage_V / s.height_m
    zeta = wall_potentials(p)[0] * s.thermal_voltage_V
    for side in ("bottom", "top"):
        assert values["wall_potential_V"][side] == pytest.approx(zeta, rel=1e-4)
        if walls == "charge":  # the imposed charge, recovered from the wall gradient
            assert values["wall_charge_C_m2"][side] == pytest.approx(SIGMA * charge_scale, rel=1e-9)
    # Negative walls: the flow and the electroosmotic convection go with the field (+x).
    assert flow > 0 and sections[0]["convection_A_m"] > 0


def test_current_sections_agree_in_a_patterned_channel():
    """ζ and σ segments side by side (2D fields): the current through five cross-sections away
    from the pattern edges agrees to 5e-4 of the ions' fluxes (measured 1.4e-4 on 97 × 82: the
    discretisation error of differences along x next to the edges) and with the scheme's
    conserved face fluxes to 1e-3."""
    eps = 0.1
    bottom = (ZetaSegment(0.0, 1.0, -2.0), ChargeSegment(1.0, 2.0, grahame_zeta(-3.0), -30.0))
    top = (ChargeSegment(0.0, 2.0, grahame_zeta(-1.0), -10.0),)
    problem = dataclasses.replace(straight_problem(eps, 0.0, field_hat=1.0, length_ratio=2.0, peclet=0.26),
                                  zeta_bottom=bottom, zeta_top=top, zeta_transition=0.01)
    values = observables(solve(case_from_problem(problem), "fd", nx=97, ny=82))
    assert values["ionic_current_section_spread"] < 5e-4
    assert values["ionic_current_per_depth_A_m"] == pytest.approx(values["ionic_current_scheme_A_m"], rel=1e-3)
    assert values["wall_charge_C_m2"]["top"] < 0 and values["wall_potential_V"]["bottom"] < 0


def test_summary_json_and_the_solve_command_report_observables(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["solve", "straight_channel", "--solver", "exact", "--out", str(out), "--nx", "5", "--ny", "41"]) == 0
    printed = capsys.readouterr().out
    assert "  ionic current " in printed and "  conductance " in printed and "  walls: charge -13.31 / -13.31" in printed
    summary = json.loads((out / "summary.json").read_text())["observables"]
    for key in ("flow_rate_per_depth_m2_s", "mean_velocity_m_s", "ionic_current_per_depth_A_m", "ionic_current_sections",
                "conductance_per_depth_S_m", "wall_charge_C_m2", "wall_potential_V", "electroosmotic_mobility_m2_Vs"):
        assert summary[key] is not None, key
    assert summary["wall_potential_V"]["bottom"] == pytest.approx(-0.05, rel=1e-12)
    back = io.read_run(out)
    assert observables(back)["ionic_current_per_depth_A_m"] == summary["ionic_current_per_depth_A_m"]


def test_open_circuit_run_keeps_its_solved_field(tmp_path):
    case = load_case("straight_channel")
    text = case.source
    path = tmp_path / "oc.toml"
    path.write_text(open(text).read().replace('field = "50 kV/m"\npressure_drop = "0 Pa"',
                                              'current = "0 A"\npressure_drop = "100 kPa"'))
    out = tmp_path / "run"
    assert main(["solve", str(path), "--solver", "exact", "--out", str(out), "--nx", "5", "--ny", "401"]) == 0
    summary = json.loads((out / "summary.json").read_text())["observables"]
    # Zero to the trapezoidal quadrature of the 401 output nodes (the exact Î is 0 to 1e-14).
    assert summary["ionic_current_per_depth_A_m"] == pytest.approx(0.0, abs=1e-4 * abs(
        summary["ionic_current_sections"][0]["conduction_A_m"]))
    assert summary["streaming_potential_V"] < 0 and summary["conductance_per_depth_S_m"] is None
    assert io.read_run(out).case.problem.field_hat == pytest.approx(summary["streaming_potential_V"] / 0.02569258 / 2,
                                                                   rel=1e-6)
