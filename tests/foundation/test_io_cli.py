"""Writers round-trip through pyvista and meshio; the CLI's outputs, JSON and error exits."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

from eofpinn import io
from eofpinn.cases import load_case
from eofpinn.cli import main
from eofpinn.solvers.exact import solve_exact

REPO = Path(__file__).resolve().parents[2]
STRAIGHT = REPO / "cases" / "straight_channel.toml"


@pytest.fixture(scope="module")
def solution():
    return solve_exact(load_case(STRAIGHT), nx=6, ny=41)


def test_vts_round_trip_in_physical_units(solution, tmp_path):
    path = io.write(solution, tmp_path / "fields.vts")
    s = solution.case.scalings
    grid = pv.read(path)
    assert grid.dimensions == (6, 41, 1)
    # H = 30 nm: points in nanometres (ParaView shades a channel in metres black), unit in field data.
    assert list(grid.field_data["length_unit"]) == ["nm"]
    assert grid.field_data["length_unit_m"][0] == 1e-9
    X, Y = solution.mesh
    np.testing.assert_allclose(grid.points[:, 0], (X * 30.0).ravel(order="F"), rtol=1e-12)
    np.testing.assert_allclose(grid.points[:, 1], (Y * 30.0).ravel(order="F"), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grid.bounds[:4], (0.0, 60.0, 0.0, 30.0), rtol=1e-12)
    np.testing.assert_allclose(grid["potential_V"], (solution["phi"] * s.thermal_voltage_V).ravel(order="F"), rtol=1e-12)
    np.testing.assert_allclose(grid["c_plus_mol_m3"], (solution["c_plus"] * 10.0).ravel(order="F"), rtol=1e-12)
    velocity = grid["velocity_m_s"]
    assert velocity.shape == (6 * 41, 3)
    np.testing.assert_allclose(velocity[:, 0], (solution["u"] * s.velocity_scale_m_s).ravel(order="F"), rtol=1e-12)
    np.testing.assert_allclose(grid["pressure_Pa"], (solution["p"] * s.pressure_scale_Pa).ravel(order="F"), rtol=1e-12)
    np.testing.assert_allclose(grid["u_nondim"], solution["u"].ravel(order="F"), rtol=1e-12)
    # VTK's own XML reader (what ParaView uses) sees the same arrays.
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOXML import vtkXMLStructuredGridReader

    reader = vtkXMLStructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    assert reader.GetOutput().GetPoints().GetData().GetName() == "points_nm"
    data = reader.GetOutput().GetPointData().GetArray("c_minus_mol_m3")
    np.testing.assert_allclose(vtk_to_numpy(data), (solution["c_minus"] * 10.0).ravel(order="F"), rtol=1e-12)


@pytest.mark.parametrize("height_m, unit, metres", [
    (30e-9, "nm", 1e-9), (0.999e-6, "nm", 1e-9), (1e-6, "um", 1e-6), (50e-6, "um", 1e-6), (2e-3, "mm", 1e-3),
    (1.5, "m", 1.0),
])
def test_length_unit_suits_the_channel_height(height_m, unit, metres):
    assert (io.length_unit(height_m).name, io.length_unit(height_m).metres) == (unit, metres)


def test_npz_and_summary(solution, tmp_path):
    io.write_run(solution, tmp_path)
    data = np.load(tmp_path / "fields.npz")
    assert set(data.files) == {"x", "y", "phi", "psi", "c_plus", "c_minus", "u", "v", "p"}
    assert data["u"].shape == (6, 41)
    meta = json.loads((tmp_path / "summary.json").read_text())
    assert meta["solver"] == "exact" and meta["grid"] == {"nx": 6, "ny": 41}
    assert meta["scalings"]["debye_ratio"] == pytest.approx(0.1014, rel=1e-3)
    back = io.read_run(tmp_path)
    np.testing.assert_array_equal(back["psi"], solution["psi"])


def test_unknown_format_is_refused(solution, tmp_path):
    with pytest.raises(Exception, match="unknown output format"):
        io.write(solution, tmp_path / "fields.xyz")


def test_info_json_has_required_keys(capsys):
    assert main(["info", str(STRAIGHT), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    for key in ("debye_length_m", "debye_ratio", "thermal_voltage_V", "velocity_scale_m_s", "pressure_scale_Pa",
                "peclet", "reynolds", "zeta_hat", "field_hat", "length_ratio"):
        assert key in payload
    assert payload["debye_length_m"] == pytest.approx(3.042e-9, rel=1e-3)
    assert payload["zeta_hat"] == pytest.approx([-1.94609, -1.94609], rel=1e-5)


def test_solve_exact_writes_outputs_and_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["solve", str(STRAIGHT), "--solver", "exact", "--out", str(out), "--nx", "5", "--ny", "31"]) == 0
    for name in ("fields.npz", "fields.vts", "summary.json", "fields.png", "profiles.png", "case.toml"):
        assert (out / name).is_file(), name
    assert main(["solve", str(STRAIGHT), "--solver", "exact", "--out", str(out)]) == 2
    assert "output directory exists and is not empty; choose another --out or pass --force" in capsys.readouterr().err
    assert main(["solve", str(STRAIGHT), "--solver", "exact", "--out", str(out), "--force", "--nx", "5", "--ny", "31"]) == 0
    assert main(["plot", str(out)]) == 0


def test_exact_solver_refuses_a_zeta_pattern(tmp_path, capsys):
    code = main(["solve", str(REPO / "cases" / "zeta_step.toml"), "--solver", "exact", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert "the exact solution needs one uniform zeta on both walls (physics.md §4); this case has a zeta pattern: use --solver fd" in err


def test_bad_case_exits_2_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(STRAIGHT.read_text().replace('concentration = "10 mM"', 'concentration = "-10 mM"'))
    result = subprocess.run([sys.executable, "-m", "eofpinn.cli", "info", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f'eofpinn: error: {bad}: [electrolyte.concentration] must lie in (0, 10 M]; got "-10 mM"'
    assert "Traceback" not in result.stderr
