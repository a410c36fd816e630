"""Case loading: scalings against hand calculation, and one clear error per kind of bad input."""

import glob
import math
from pathlib import Path

import pytest

from eofpinn.cases import load_case
from eofpinn.errors import CaseError

REPO = Path(__file__).resolve().parents[2]

VALID = """
[case]
name = "t"
[channel]
length = "200 nm"
height = "100 nm"
ends = "periodic"
[electrolyte]
concentration = "1 mM"
valence = 1
diffusivity_plus = "2e-9 m^2/s"
diffusivity_minus = "2e-9 m^2/s"
relative_permittivity = 78.5
temperature = "298.15 K"
viscosity = "0.89 mPa*s"
density = "997 kg/m^3"
[walls]
bottom = "-50 mV"
top = [["0 nm", "100 nm", "-50 mV"], ["100 nm", "200 nm", "25 mV"]]
[drive]
field = "10 kV/m"
"""


def write(tmp_path, text, name="case.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", sorted(glob.glob(str(REPO / "cases" / "*.toml"))))
def test_every_shipped_case_loads(path):
    case = load_case(path)
    assert case.problem.debye_ratio > 0
    assert case.description


def test_debye_length_at_1mM_matches_hand_calculation(tmp_path):
    case = load_case(write(tmp_path, VALID))
    # λ_D = sqrt(ε0 εr R T / (2 F² c0)) = 9.62 nm at 1 mM, 25 °C (physics.md: 0.304 nm / sqrt(c/1 M)).
    hand = math.sqrt(78.5 * 8.8541878128e-12 * 8.314462618 * 298.15 / (2 * 96485.33212**2 * 1.0))
    assert case.scalings.debye_length_m == pytest.approx(hand, rel=1e-12)
    assert case.scalings.debye_length_m == pytest.approx(9.62e-9, rel=1e-3)
    assert case.scalings.debye_ratio == pytest.approx(0.0962, rel=1e-3)
    assert case.scalings.thermal_voltage_V == pytest.approx(0.025693, rel=1e-4)
    assert case.scalings.zeta_hat[0] == pytest.approx(-0.05 / 0.0256926, rel=1e-5)
    assert case.scalings.field_hat == pytest.approx(1e4 * 1e-7 / 0.0256926, rel=1e-5)
    # Helmholtz–Smoluchowski: u = -ε_w ζ E / μ = 0.39 mm/s for -50 mV, 10 kV/m.
    assert case.scalings.helmholtz_smoluchowski_m_s[0] == pytest.approx(3.905e-4, rel=1e-3)


def test_debye_length_rule_of_thumb_at_100mM(tmp_path):
    case = load_case(write(tmp_path, VALID.replace('"1 mM"', '"100 mM"')))
    assert case.scalings.debye_length_m == pytest.approx(0.304e-9 / math.sqrt(0.1), rel=5e-3)


def test_paper_case_uses_the_converted_debye_ratio():
    case = load_case(REPO / "cases" / "paper_eof.toml")
    assert case.problem.debye_ratio == pytest.approx(0.2 / math.sqrt(2), rel=1e-12)
    assert case.problem.equations == "paper" and case.problem.ion_wall == "boltzmann"
    assert case.problem.ends == "reservoir" and case.problem.uniform_zeta == 1.0


def test_zeta_pattern_segments(tmp_path):
    problem = load_case(write(tmp_path, VALID)).problem
    assert [s.zeta_hat for s in problem.zeta_top] == pytest.approx([-1.94609, 0.973044], rel=1e-5)
    assert problem.zeta_wall("top", [0.5, 1.0, 1.5, 2.0]).tolist() == pytest.approx([-1.94609, 0.973044, 0.973044, 0.973044], rel=1e-5)
    assert problem.uniform_zeta is None


def test_case_is_immutable(tmp_path):
    case = load_case(write(tmp_path, VALID))
    with pytest.raises(AttributeError):
        case.problem.debye_ratio = 1.0


BAD = [
    ("unknown key", ('height = "100 nm"', 'height = "100 nm"\nlenght = "1 nm"'), "[channel.lenght] unknown key; allowed: length, height, ends"),
    ("missing field", ('valence = 1\n', ''), "[electrolyte.valence] missing; expected an integer 1–4"),
    ("wrong unit", ('height = "100 nm"', 'height = "5 kg"'), '[channel.height] expects a length (convertible to m, e.g. "100 nm"); got "5 kg" (wrong dimension)'),
    ("unknown unit", ('height = "100 nm"', 'height = "5 furlongz"'), '(unknown unit)'),
    ("no unit", ('height = "100 nm"', 'height = 100'), '[channel.height] expects a length written with its unit, e.g. "100 nm"; got 100'),
    ("negative concentration", ('"1 mM"', '"-1 mM"'), '[electrolyte.concentration] must lie in (0, 10 M]; got "-1 mM"'),
    ("overlapping segments", ('["100 nm", "200 nm", "25 mV"]', '["90 nm", "200 nm", "25 mV"]'), "[walls.top[1]] segments overlap: each must start where the previous ends"),
    ("gapped segments", ('["100 nm", "200 nm", "25 mV"]', '["110 nm", "200 nm", "25 mV"]'), "[walls.top[1]] segments leave a gap: each must start where the previous ends"),
    ("short pattern", ('["100 nm", "200 nm", "25 mV"]', '["100 nm", "150 nm", "25 mV"]'), "[walls.top[1]] last segment must end at the channel length"),
    ("huge zeta", ('bottom = "-50 mV"', 'bottom = "-5 V"'), '[walls.bottom] zeta must lie in [-500 mV, 500 mV]; got "-5 V"'),
    ("bad choice", ('ends = "periodic"', 'ends = "open"'), "[channel.ends] must be one of 'periodic', 'reservoir'; got 'open'"),
    ("both drives", ('field = "10 kV/m"', 'field = "10 kV/m"\nvoltage = "1 V"'), "[drive.field] give either voltage or field, not both"),
    ("unknown section", ('[case]', '[extra]\nx = 1\n[case]'), "[extra] unknown section"),
    ("bad solver setting", ('[drive]', '[fd]\nnx = "many"\n[drive]'), "[fd.nx] must be of type int"),
    ("bad valence", ("valence = 1", "valence = 1.5"), "[electrolyte.valence] must be an integer in [1, 4]"),
]


@pytest.mark.parametrize("label,edit,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_key_and_range(tmp_path, label, edit, message):
    old, new = edit
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(CaseError) as info:
        load_case(path)
    text = str(info.value)
    assert text.startswith(f"{path}: [")
    assert message in text
    assert "\n" not in text


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(CaseError, match=r"case file not found"):
        load_case(tmp_path / "nope.toml")
    with pytest.raises(CaseError, match=r"\[file\] is not valid TOML"):
        load_case(write(tmp_path, "[channel\n"))


DIMENSIONLESS = """
[channel]
length_ratio = 2.0
ends = "periodic"
[dimensionless]
debye_ratio = 0.05
field = 1.0
peclet = 2.0
[walls]
bottom = 1.0
top = [[0, 1, 1.0], [1, 2, -1.0]]
"""


def test_dimensionless_form_keeps_given_numbers(tmp_path):
    case = load_case(write(tmp_path, DIMENSIONLESS))
    p = case.problem
    assert (p.debye_ratio, p.length_ratio, p.field_hat, p.peclet) == (0.05, 2.0, 1.0, 2.0)
    assert [s.zeta_hat for s in p.zeta_top] == [1.0, -1.0]
    # Nominal embodiment: 1 mM KCl, H = λ_D / ε.
    assert case.scalings.height_m == pytest.approx(9.6198e-9 / 0.05, rel=1e-4)


@pytest.mark.parametrize("edit,needle", [
    (("debye_ratio = 0.05", "debye_ratio = 0.002"), "Debye ratio ε = 0.002 < 0.005"),
    (("bottom = 1.0", "bottom = 9.0"), "|ζ̂| = 9 > 8"),
    (("peclet = 2.0", "peclet = 2.0\nreynolds = 0.5"), "Reynolds number 0.5 > 0.1"),
])
def test_physics_warnings(tmp_path, edit, needle):
    case = load_case(write(tmp_path, DIMENSIONLESS.replace(*edit)))
    assert any(needle in w for w in case.warnings), case.warnings
