"""Error metrics and balance checks of `eofpinn validate`."""

from pathlib import Path

import numpy as np
import pytest

from eofpinn.cases import case_from_problem, straight_problem
from eofpinn.cli import main
from eofpinn.solution import Solution
from eofpinn.solvers.exact import solve_exact
from eofpinn.validation.compare import balances, field_errors


REPO = Path(__file__).resolve().parents[2]


def exact(nx=9, ny=201, **kw):
    return solve_exact(case_from_problem(straight_problem(0.1, 1.5, field_hat=1.0, **kw)), nx=nx, ny=ny)


def test_relative_errors_of_a_known_perturbation():
    ref = exact()
    fields = {k: v.copy() for k, v in ref.fields.items()}
    fields["u"] *= 1.01
    fields["c_plus"] = fields["c_plus"] + 0.02 * np.max(np.abs(fields["c_plus"]))
    errors = field_errors(Solution(ref.case, ref.x, ref.y, fields, "perturbed"), ref)
    assert errors["u"]["relative_l2"] == pytest.approx(0.01, rel=1e-12)
    assert errors["u"]["max_error"] == pytest.approx(0.01, rel=1e-12)
    assert errors["phi"]["relative_l2"] == 0.0
    # v is identically zero in the reference: measured against the velocity magnitude instead.
    assert errors["v"]["relative_l2"] == 0.0
    assert errors["paper_mean"]["relative_l2"] == pytest.approx(
        (errors["c_plus"]["relative_l2"] + 0.01) / 4, rel=1e-12)


def test_interpolated_reference_on_another_grid_is_accurate():
    fine, coarse = exact(nx=9, ny=801), exact(nx=5, ny=101)
    errors = field_errors(coarse, fine)
    assert errors["paper_mean"]["relative_l2"] < 5e-6  # measured 2.4e-6 (cubic interpolation)


def test_balances_of_the_exact_solution():
    b = balances(exact(ny=201))
    assert b["ion_flux_spread_c_plus"] < 1e-12 and b["ion_flux_spread_c_minus"] < 1e-12
    assert b["volume_flux_spread"] < 1e-12
    # The charge check differentiates ψ at the wall on the grid: second order in the spacing.
    b_coarse, b_fine = balances(exact(ny=101)), balances(exact(ny=201))
    order = np.log2(b_coarse["charge_balance"] / b_fine["charge_balance"])
    assert b_fine["charge_balance"] < 5e-4
    assert 1.8 < order < 2.3


def test_validate_writes_report(tmp_path):
    from eofpinn.validation.report import exact_reference, validate

    run = tmp_path
    sol = exact()
    report = validate(sol, exact_reference(sol), run)
    assert (run / "validation.json").is_file() and (run / "comparison.png").is_file()
    assert report["errors"]["paper_mean"]["relative_l2"] < 1e-14


def test_validate_cli_on_a_shipped_case(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["solve", str(REPO / "cases" / "quickstart.toml"), "--solver", "exact", "--out", str(out), "--nx", "5", "--ny", "51",
                 "--set", "debye_ratio=0.05"]) == 0
    assert main(["validate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "paper_mean" in text and (out / "profiles_comparison.png").is_file()
