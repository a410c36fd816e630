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
    # Default transition: λ_D/4 (tanh), the mean of the two sides at the edge x = 1.0.
    assert problem.zeta_transition == pytest.approx(0.25 * problem.debye_ratio, rel=1e-12)
    assert problem.zeta_wall("top", [0.5, 1.0, 1.5]).tolist() == pytest.approx([-1.94609, -0.486523, 0.973044],
                                                                               rel=1e-5)
    assert problem.uniform_zeta is None
    sharp = load_case(write(tmp_path, VALID.replace('top = [', 'transition = "0 nm"\ntop = ['))).problem
    assert sharp.zeta_transition == 0.0
    assert sharp.zeta_wall("top", [0.5, 1.0, 1.5, 2.0]).tolist() == pytest.approx([-1.94609, 0.973044, 0.973044, 0.973044], rel=1e-5)
    wide = VALID.replace('top = [', 'transition = "30 nm"\ntop = [')
    with pytest.raises(CaseError, match=r"\[walls.transition\] must lie in \[0, 25 nm\] \(0: sharp jumps; at most a quarter "
                                        r"of the shortest segment\); got \"30 nm\"$"):
        load_case(write(tmp_path, wide))


def test_case_is_immutable(tmp_path):
    case = load_case(write(tmp_path, VALID))
    with pytest.raises(AttributeError):
        case.problem.debye_ratio = 1.0


BAD = [
    ("unknown key", ('height = "100 nm"', 'height = "100 nm"\nlenght = "1 nm"'), "[channel.lenght] unknown key; allowed: length, height, ends"),
    ("missing field", ('valence = 1\n', ''), "[electrolyte.valence] missing; expected valence z of the symmetric z:z salt, an integer in [1, 4]"),
    ("wrong unit", ('height = "100 nm"', 'height = "5 kg"'), '[channel.height] expects a length (convertible to m, e.g. "100 nm"); got "5 kg" (wrong dimension)'),
    ("unknown unit", ('height = "100 nm"', 'height = "5 furlongz"'), '(unknown unit)'),
    ("no unit", ('height = "100 nm"', 'height = 100'), '[channel.height] expects a length written with its unit, e.g. "100 nm"; got 100'),
    ("negative concentration", ('"1 mM"', '"-1 mM"'), '[electrolyte.concentration] must lie in (0, 10 M]; got "-1 mM"'),
    ("overlapping segments", ('["100 nm", "200 nm", "25 mV"]', '["90 nm", "200 nm", "25 mV"]'), "[walls.top[1]] segments overlap: each must start where the previous ends"),
    ("gapped segments", ('["100 nm", "200 nm", "25 mV"]', '["110 nm", "200 nm", "25 mV"]'), "[walls.top[1]] segments leave a gap: each must start where the previous ends"),
    ("short pattern", ('["100 nm", "200 nm", "25 mV"]', '["100 nm", "150 nm", "25 mV"]'), "[walls.top[1]] last segment must end at the channel length"),
    ("huge zeta", ('bottom = "-50 mV"', 'bottom = "-5 V"'),
     '[walls.bottom] zeta must lie in [-513.9 mV, 513.9 mV] (|ζ̂| = |ζ|/V_T ≤ 20, V_T = 25.69 mV); got "-5 V"'),
    ("bad choice", ('ends = "periodic"', 'ends = "open"'), "[channel.ends] must be one of 'periodic', 'reservoir'; got 'open'"),
    ("both drives", ('field = "10 kV/m"', 'field = "10 kV/m"\nvoltage = "1 V"'), "[drive.field] give either voltage or field, not both"),
    ("unknown section", ('[case]', '[extra]\nx = 1\n[case]'), "[extra] unknown section"),
    ("bad solver setting", ('[drive]', '[fd]\nnx = "many"\n[drive]'),
     "[fd.nx] must be an integer in [5, 4097]; got 'many' (x grid nodes 0 … ℓ; default 65)"),
    ("bad valence", ("valence = 1", "valence = 1.5"), "[electrolyte.valence] must be an integer in [1, 4]"),
    # [fd]: every key has its range (ranges.FD); the grid must fit in memory.
    ("fd nx too small", ("[drive]", "[fd]\nnx = 3\n[drive]"),
     "[fd.nx] must lie in [5, 4097]; got 3 (x grid nodes 0 … ℓ; default 65)"),
    ("fd nx absurd", ("[drive]", "[fd]\nnx = 100000\n[drive]"),
     "[fd.nx] must lie in [5, 4097]; got 100000 (x grid nodes 0 … ℓ; default 65)"),
    ("fd ny too small", ("[drive]", "[fd]\nny = 5\n[drive]"),
     "[fd.ny] must lie in [6, 2050]; got 5 (y grid nodes: both walls and ny − 2 cell centres; default 162)"),
    ("fd grid too big", ("[drive]", "[fd]\nnx = 4097\nny = 2050\n[drive]"),
     "[fd] nx × ny = 4097 × 2050 = 8.4e+06 nodes; at most 1.05e+06 (e.g. 1025 × 1026): "
     "the sparse LU would not fit in memory"),
    ("fd wall_stretch", ("[drive]", "[fd]\nwall_stretch = 50\n[drive]"),
     "[fd.wall_stretch] must lie in [0, 5]; got 50 (tanh clustering β of the y grid at the walls, 0 = uniform; "
     "default 3.0)"),
    ("fd tolerance 0", ("[drive]", "[fd]\ntolerance = 0\n[drive]"),
     "[fd.tolerance] must lie in [1e-14, 0.001]; got 0 (Newton stops when the step is below this, relative to "
     "each field; default 1e-10)"),
    ("fd max_newton 0", ("[drive]", "[fd]\nmax_newton = 0\n[drive]"),
     "[fd.max_newton] must lie in [1, 1000]; got 0 (Newton iterations per solve; default 40)"),
    ("fd edge_stretch nan", ("[drive]", "[fd]\nedge_stretch = nan\n[drive]"),
     "[fd.edge_stretch] must lie in [0, 5]; got nan (tanh clustering β of the x grid at the zeta jumps, "
     "0 = uniform, 2-3 = strong; default 0.0)"),
    ("fd flag", ("[drive]", "[fd]\ngrid_sequencing = 1\n[drive]"), "[fd.grid_sequencing] must be true or false; got 1"),
    # The physical form checks what it derives against the dimensionless ranges (ranges.DIMENSIONLESS).
    ("height gives huge eps", ('height = "100 nm"', 'height = "1e-30 m"'),
     '[channel.height] gives ε = λ_D/H = 9.62e+21, outside [0.0001, 10]: with λ_D = 9.62 nm (from [electrolyte]) '
     'H must lie in [0.962 nm, 96.2 µm]; got "1e-30 m"'),
    ("length gives huge ell", ('length = "200 nm"', 'length = "1 m"'),
     '[channel.length] gives ℓ = L/H = 1e+07, outside [0.01, 10000]: with H = 100 nm, L must lie in [1 nm, 1 mm]; '
     'got "1 m"'),
    ("channel width", ('length = "200 nm"', 'width = "1000000 m"'), "[channel.width] unknown key; allowed: length, height, ends"),
    ("no drive section", ('[drive]\nfield = "10 kV/m"', ''),
     '[drive] section missing: give field = "10 kV/m" or voltage = "10 mV" (field = "0 V/m" for a flow driven '
     'by pressure alone)'),
    ("no drive field", ('field = "10 kV/m"', 'pressure_drop = "1 Pa"'),
     '[drive.field] missing: give field = "10 kV/m" or voltage = "10 mV" (field = "0 V/m" for a flow driven '
     'by pressure alone)'),
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


def test_binary_and_latin1_files_are_named_not_decoded(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01binary")
    with pytest.raises(CaseError) as info:
        load_case(binary)
    assert str(info.value) == f"{binary}: [file] is a binary file (it contains NUL bytes), not a TOML case file"
    latin = tmp_path / "latin.toml"
    latin.write_bytes(VALID.replace('name = "t"', 'name = "café"').encode("latin-1"))
    with pytest.raises(CaseError) as info:
        load_case(latin)
    assert str(info.value) == (f"{latin}: [file] is not UTF-8 text (byte 0xe9 at offset 19); "
                               "TOML files must be UTF-8: save it with that encoding")


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert load_case(path).name == "t"


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


DIMENSIONLESS_BAD = [
    (("bottom = 1.0", "bottom = nan"), "[walls.bottom] zeta must lie in [-20, 20]; got nan (ζ̂ = ζ/V_T)"),
    (("debye_ratio = 0.05", "debye_ratio = 20"),
     "[dimensionless.debye_ratio] must lie in [0.0001, 10]; got 20 (the Debye ratio ε = λ_D/H)"),
    (("debye_ratio = 0.05", "debye_ratio = nan"),
     "[dimensionless.debye_ratio] must lie in [0.0001, 10]; got nan (the Debye ratio ε = λ_D/H)"),
    (("length_ratio = 2.0", "length_ratio = 0.001"),
     "[channel.length_ratio] must lie in [0.01, 10000]; got 0.001 (the aspect ratio ℓ = L/H)"),
    (("field = 1.0\n", ""),
     "[dimensionless.field] missing: give field (Ê) or voltage (V̂ = Ê ℓ); field = 0 for a flow driven by "
     "pressure alone"),
]


@pytest.mark.parametrize("edit,message", DIMENSIONLESS_BAD, ids=[m.split("]")[0][1:] + "|" + e[1] for e, m in DIMENSIONLESS_BAD])
def test_bad_dimensionless_input(tmp_path, edit, message):
    assert edit[0] in DIMENSIONLESS
    path = write(tmp_path, DIMENSIONLESS.replace(*edit))
    with pytest.raises(CaseError) as info:
        load_case(path)
    assert str(info.value) == f"{path}: {message}"


def test_both_forms_accept_the_same_debye_ratios(tmp_path):
    """ε = 8 is accepted and ε = 12 refused (range [1e-4, 10]) whichever form gives it."""
    for eps, accepted in ((8.0, True), (12.0, False)):
        height_nm = 9.6198 / eps  # H = λ_D/ε for VALID's 1 mM KCl
        physical = write(tmp_path, VALID.replace('height = "100 nm"', f'height = "{height_nm:.6f} nm"')
                         .replace('length = "200 nm"', f'length = "{2 * height_nm:.6f} nm"')
                         .replace(VALID.split("top = ")[1].split("\n")[0], '"-50 mV"'), "physical.toml")
        dimensionless = write(tmp_path, DIMENSIONLESS.replace("debye_ratio = 0.05", f"debye_ratio = {eps}"), "d.toml")
        for path in (physical, dimensionless):
            if accepted:
                assert load_case(path).problem.debye_ratio == pytest.approx(eps, rel=1e-4)
            else:
                with pytest.raises(CaseError, match=r"(outside|must lie in) \[0\.0001, 10\]"):
                    load_case(path)


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
