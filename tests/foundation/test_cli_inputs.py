"""Every bad command-line input: one line naming the flag, the value and the allowed range,
exit code 2, no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from eofpinn.cli import main

REPO = Path(__file__).resolve().parents[2]
STRAIGHT = str(REPO / "cases" / "straight_channel.toml")
QUICKSTART = str(REPO / "cases" / "quickstart.toml")


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("item,message", [
    ("debye_ratio=nan", "--set: [debye_ratio] must lie in [0.0001, 10]; got nan (the Debye ratio ε = λ_D/H)"),
    ("zeta_hat=1e6", "--set: [zeta_hat] must lie in [-20, 20]; got 1000000.0 (the zeta potential ζ̂ = ζ/V_T)"),
    ("length_ratio=0", "--set: [length_ratio] must lie in [0.01, 10000]; got 0.0 (the aspect ratio ℓ = L/H)"),
    ("viscosity=1", "--set: [viscosity] cannot be overridden; allowed: debye_ratio, zeta_hat, field_hat, peclet, "
                    "pressure_drop_hat, length_ratio"),
])
def test_set_uses_the_case_file_ranges(tmp_path, capsys, item, message):
    assert main(["solve", STRAIGHT, "--set", item, "--out", str(tmp_path / "run")]) == 2
    assert error_line(capsys) == f"eofpinn: error: {message}"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args,message", [
    (["--param", "debye_ratio="], "--param 'debye_ratio=': no values; expected NAME=V1,V2,..., e.g. debye_ratio=0.2,0.1"),
    (["--param", "debye_ratio=0.1,nan"], "--param: [debye_ratio] must lie in [0.0001, 10]; got nan (the Debye ratio ε = λ_D/H)"),
    (["--param", "debye_ratio=0.1", "--seeds", "0"], "--seeds 0: must be at least 1 (the runs use seeds 0 … N−1)"),
    (["--param", "debye_ratio=0.1", "--jobs", "-1"],
     "--jobs -1: must be at least 1 (leave it out for one per GPU or per two cores)"),
])
def test_sweep_refuses_an_empty_or_out_of_range_grid(tmp_path, capsys, args, message):
    assert main(["sweep", QUICKSTART, *args, "--out", str(tmp_path / "sweep")]) == 2
    assert error_line(capsys) == f"eofpinn: error: {message}"
    assert not (tmp_path / "sweep" / "sweep.txt").exists()


def test_an_unresolvable_layer_fails_in_two_lines_not_a_screen_of_numpy_warnings(tmp_path):
    """ε = 1e-4 is accepted (with the thin-layer warning); the Poisson–Boltzmann solve then fails
    with its own message, and the sinh/cosh overflows of its trial iterates stay silent."""
    result = subprocess.run([sys.executable, "-m", "eofpinn.cli", "solve", STRAIGHT, "--solver", "exact",
                             "--set", "debye_ratio=1e-4", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert lines[0].startswith("warning: Debye ratio ε = 0.0001 < 0.005: the double layer is too thin to resolve")
    assert lines[1].startswith("eofpinn: error: Poisson–Boltzmann profile did not converge for ε = 0.0001")
    assert len(lines) == 2, lines
