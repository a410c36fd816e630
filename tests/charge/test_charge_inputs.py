"""Surface-charge walls, z₊:z₋ salts and open circuits as case-file input (issue 13 (a)):
electroneutral bulk, Debye length, Grahame's equation, `eofpinn info` and one-line errors."""

import math

import pytest

from eofpinn.cases import load_case
from eofpinn.cli import main
from eofpinn.errors import CaseError
from eofpinn.physics.electrolyte import (
    FARADAY, GAS_CONSTANT, VACUUM_PERMITTIVITY, electroneutral_bulk, grahame_charge, grahame_zeta,
    osmotic_function, stoichiometry,
)

EPS_W = 78.5 * VACUUM_PERMITTIVITY
RT = GAS_CONSTANT * 298.15

CASE = """
[channel]
length = "200 nm"
height = "100 nm"
[electrolyte]
concentration = "1 mM"
valence_plus = 2
valence_minus = -1
diffusivity_plus = "0.792e-9 m^2/s"
diffusivity_minus = "2.03e-9 m^2/s"
relative_permittivity = 78.5
temperature = "298.15 K"
viscosity = "0.89 mPa*s"
density = "997 kg/m^3"
[walls]
bottom = "-60 mC/m^2"
top = [["0 nm", "100 nm", "-50 mV"], ["100 nm", "200 nm", "-0.02 C/m^2"]]
[drive]
current = "0 A"
pressure_drop = "1 kPa"
"""


def write(tmp_path, text, name="case.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("z_plus,z_minus,nu", [(1, -1, (1, 1)), (2, -1, (1, 2)), (1, -2, (2, 1)), (3, -2, (2, 3)),
                                               (2, -2, (1, 1)), (4, -2, (1, 2))])
def test_electroneutral_bulk(z_plus, z_minus, nu):
    assert stoichiometry(z_plus, z_minus) == nu
    c_plus, c_minus = electroneutral_bulk(3.0, z_plus, z_minus)
    assert (c_plus, c_minus) == (3.0 * nu[0], 3.0 * nu[1])
    assert z_plus * c_plus + z_minus * c_minus == 0.0


def test_cacl2_scalings_follow_the_ionic_strength(tmp_path):
    case = load_case(write(tmp_path, CASE))
    # λ_D = sqrt(ε_w RT / (F² Σ zᵢ² cᵢ)), Σ zᵢ² cᵢ = 4·1 mM + 1·2 mM = 6 mol/m³: 5.554 nm.
    hand = math.sqrt(EPS_W * RT / (FARADAY**2 * (4 * 1.0 + 1 * 2.0)))
    s, e, p = case.scalings, case.electrolyte, case.problem
    assert s.debye_length_m == pytest.approx(hand, rel=1e-12) and s.debye_length_m == pytest.approx(5.554e-9, rel=1e-3)
    assert (s.concentration_plus_mol_m3, s.concentration_minus_mol_m3) == pytest.approx((1.0, 2.0), rel=1e-12)
    assert e.valence == 1 and s.thermal_voltage_V == pytest.approx(RT / FARADAY, rel=1e-12)
    assert (p.valence_plus, p.valence_minus, p.open_circuit) == (2.0, -1.0, True)
    # σ̂ = σ H/(ε_w V_T); the Grahame ζ̂ inverts σ λ_D/(ε_w V_T) = sgn ζ̂ sqrt(2 G(ζ̂)).
    sigma_hat = -0.06 * 1e-7 / (EPS_W * RT / FARADAY)
    bottom = p.zeta_bottom[0]
    assert bottom.is_charge and bottom.charge_hat == pytest.approx(sigma_hat, rel=1e-12)
    g = osmotic_function(bottom.zeta_hat, 2.0, -1.0)
    assert math.sqrt(2 * g) == pytest.approx(-sigma_hat * p.debye_ratio, rel=1e-12)
    assert not p.zeta_top[0].is_charge and p.zeta_top[1].is_charge
    assert s.surface_charge_C_m2[0] == -0.06 and s.surface_charge_C_m2[2] == pytest.approx(-0.02, rel=1e-12)
    # Dukhin number |σ|/(F q H), q = z₊ c₊ = 2 · 1 mol/m³.
    assert s.dukhin_number[0] == pytest.approx(0.06 / (FARADAY * 2.0 * 1e-7), rel=1e-12)


def test_symmetric_salt_is_unchanged_bit_for_bit(tmp_path):
    """The general Debye length reduces to physics.md §2's symmetric formula exactly."""
    text = CASE.replace("valence_plus = 2\nvalence_minus = -1", "valence = 2")
    case = load_case(write(tmp_path, text))
    old = math.sqrt(EPS_W * GAS_CONSTANT * 298.15 / (2.0 * 2**2 * FARADAY**2 * case.electrolyte.concentration_mol_m3))
    assert case.scalings.debye_length_m == old
    assert case.problem.valences == (1.0, -1.0) and case.electrolyte.valence_plus == 2
    same = load_case(write(tmp_path, text.replace("valence = 2", "valence_plus = 2\nvalence_minus = -2"), "b.toml"))
    assert same.problem == case.problem and same.scalings == case.scalings


def test_grahame_equation_classical_form():
    """z:z: σ = sqrt(8 ε_w RT c0) sinh(ζ̂/2), i.e. s = σ λ_D/(ε_w V_T) = 2 sinh(ζ̂/2); inverse to round-off."""
    for zeta in (-6.0, -1.946, -0.1, 0.0, 0.5, 3.0):
        assert grahame_charge(zeta) == pytest.approx(2 * math.sinh(zeta / 2), rel=1e-15, abs=0)
        assert grahame_zeta(grahame_charge(zeta)) == pytest.approx(zeta, rel=1e-14, abs=1e-15)
    for valences in ((2.0, -1.0), (1.0, -2.0), (3.0, -2.0), (1.5, -0.5)):
        for zeta in (-8.0, -2.0, -1e-3, 1e-3, 1.0, 5.0):
            s = grahame_charge(zeta, *valences)
            assert math.copysign(1.0, s) == math.copysign(1.0, zeta)
            assert grahame_zeta(s, *valences) == pytest.approx(zeta, rel=1e-12)
    # CaCl₂ near a negative wall: the divalent counter-ion screens more, so the same charge needs
    # a smaller |ζ| than in a 1:1 salt of the same Debye length.
    assert abs(grahame_zeta(-5.0, 2.0, -1.0)) < abs(grahame_zeta(-5.0))


def test_info_prints_each_segment_charge_zeta_and_dukhin(tmp_path, capsys):
    assert main(["info", str(write(tmp_path, CASE))]) == 0
    out = capsys.readouterr().out
    assert "2:1 salt, c_s = 1 mM (bulk c₊ = 1 mM, c₋ = 2 mM)" in out
    assert "bottom wall [0 nm, 200 nm)  σ = -60 mC/m^2 (given), ζ = -89.34 mV (Grahame), Du = 3.11" in out
    assert "top wall [0 nm, 100 nm)     ζ = -50 mV (given)" in out
    assert "top wall [100 nm, 200 nm)   σ = -20 mC/m^2 (given), ζ = -61.38 mV (Grahame), Du = 1.04" in out
    assert "open circuit: E fixed by zero net current (current = 0 A)" in out


def test_dimensionless_charge_walls(tmp_path):
    text = """
[channel]
length_ratio = 1.0
[dimensionless]
debye_ratio = 0.1
current = 0
pressure_drop = 2.0
[walls]
bottom = {charge = -20.0}
top = [[0, 0.5, -1.0], [0.5, 1.0, {charge = 5.0}]]
"""
    p = load_case(write(tmp_path, text)).problem
    assert p.open_circuit and p.field_hat == 0.0
    assert p.zeta_bottom[0].charge_hat == -20.0
    assert p.zeta_bottom[0].zeta_hat == pytest.approx(2 * math.asinh(-20.0 * 0.1 / 2), rel=1e-14)
    assert [s.is_charge for s in p.zeta_top] == [False, True]


BAD = [
    ("absurd charge", ('bottom = "-60 mC/m^2"', 'bottom = "-1.5 C/m^2"'),
     '[walls.bottom] surface charge must lie in [-1 C/m^2, 1 C/m^2]; got "-1.5 C/m^2"'),
    ("unit of neither kind", ('bottom = "-60 mC/m^2"', 'bottom = "-60 mA"'),
     '[walls.bottom] expects a zeta potential (a voltage, e.g. "-50 mV") or a surface charge density (e.g. '
     '"-60 mC/m^2"); got "-60 mA" (a unit of neither kind)'),
    ("segment of neither kind", ('"-0.02 C/m^2"]', '"-0.02 C/m"]'),
     '[walls.top[1]] expects a zeta potential (a voltage, e.g. "-50 mV") or a surface charge density (e.g. '
     '"-60 mC/m^2"); got "-0.02 C/m" (a unit of neither kind)'),
    ("valence 0", ("valence_minus = -1", "valence_minus = 0"),
     "[electrolyte.valence_minus] must lie in [-4, -1]; got 0 (anion valence z₋ of a z₊:z₋ salt (negative))"),
    ("symmetric valence 0", ("valence_plus = 2\nvalence_minus = -1", "valence = 0"),
     "[electrolyte.valence] must lie in [1, 4]; got 0 (valence z of the symmetric z:z salt)"),
    ("non-neutral salt", ("valence_minus = -1", "valence_minus = 1"),
     "[electrolyte.valence_minus] must lie in [-4, -1]; got 1: a salt of two cations cannot be electroneutral "
     "(it needs an anion too)"),
    ("two anions", ("valence_plus = 2", "valence_plus = -2"),
     "[electrolyte.valence_plus] must lie in [1, 4]; got -2: a salt of two anions cannot be electroneutral "
     "(it needs a cation too)"),
    ("half a salt", ("valence_minus = -1\n", ""),
     "[electrolyte.valence_minus] missing; expected anion valence z₋ of a z₊:z₋ salt (negative), an integer in "
     "[-4, -1] (given with valence_plus)"),
    ("both valence forms", ("valence_plus = 2", "valence = 1\nvalence_plus = 2"),
     "[electrolyte.valence] give valence (a symmetric z:z salt) or valence_plus and valence_minus (a z₊:z₋ salt), "
     "not both"),
    ("open circuit with a voltage", ('current = "0 A"', 'current = "0 A"\nvoltage = "10 mV"'),
     '[drive.current] an open circuit (current = "0 A") leaves the voltage to the solver: give current or voltage, '
     'not both (current must be 0 A (open circuit))'),
    ("current source", ('current = "0 A"', 'current = "1 nA"'),
     '[drive.current] must be 0 A (open circuit): a current source is not supported; got "1 nA"'),
]


@pytest.mark.parametrize("label,edit,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_naming_file_key_and_range(tmp_path, label, edit, message):
    old, new = edit
    assert old in CASE
    path = write(tmp_path, CASE.replace(old, new, 1))
    with pytest.raises(CaseError) as info:
        load_case(path)
    assert str(info.value) == f"{path}: {message}"


def test_bad_input_exits_2_from_the_command_line(tmp_path, capsys):
    path = write(tmp_path, CASE.replace('bottom = "-60 mC/m^2"', 'bottom = "-1.5 C/m^2"'))
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f'eofpinn: error: {path}: [walls.bottom] surface charge must lie in [-1 C/m^2, 1 C/m^2]; got "-1.5 C/m^2"'


def test_open_circuit_needs_the_full_model(tmp_path):
    path = write(tmp_path, CASE + '[model]\nequations = "paper"\n')
    with pytest.raises(CaseError) as info:
        load_case(path)
    assert str(info.value) == (f"{path}: [model.equations] must be 'full' for an open circuit (current = 0): the "
                               "paper model's ion fluxes carry no current; got 'paper'")


def test_new_writes_charge_walls_of_a_dimensionless_case_back(tmp_path, monkeypatch):
    text = """
[channel]
length_ratio = 1.0
[dimensionless]
debye_ratio = 0.1
current = 0
pressure_drop = 2.0
[walls]
bottom = {charge = -20.0}
top = [[0, 0.5, -1.0], [0.5, 1.0, {charge = 5.0}]]
"""
    source = write(tmp_path, text, "dim.toml")
    monkeypatch.chdir(tmp_path)
    assert main(["new", "copy", "--from", str(source)]) == 0
    copy, original = load_case("copy.toml").problem, load_case(source).problem
    assert (copy.zeta_bottom, copy.zeta_top, copy.open_circuit) == (original.zeta_bottom, original.zeta_top, True)
    assert copy.peclet == pytest.approx(original.peclet, rel=1e-9)
