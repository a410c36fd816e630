"""Error metrics and balance checks of `eofpinn validate`."""

from pathlib import Path

import numpy as np
import pytest

from eofpinn.cases import case_from_problem, straight_problem
from eofpinn.cli import main
from eofpinn.physics.exact import exact_fields
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


def test_velocity_vector_error_weighs_v_by_the_flow_it_is_part_of():
    """The `velocity` row: ‖|u − u_ref|‖ / ‖|u_ref|‖ with u off by 1 % and a uniform spurious v of
    2 % of u's peak, written out with the trapezoid weights; max error from the pointwise |Δu|."""
    ref = exact()
    fields = {k: v.copy() for k, v in ref.fields.items()}
    peak = np.max(np.abs(ref["u"]))
    fields["u"] *= 1.01
    fields["v"] = fields["v"] + 0.02 * peak
    errors = field_errors(Solution(ref.case, ref.x, ref.y, fields, "perturbed"), ref)
    weights = np.outer(*(0.5 * (np.r_[0.0, np.diff(t)] + np.r_[np.diff(t), 0.0]) for t in (ref.x, ref.y)))
    speed = np.sqrt(np.sum(weights * ref["u"] ** 2))
    expected = np.sqrt(np.sum(weights * ((0.01 * ref["u"]) ** 2 + (0.02 * peak) ** 2))) / speed
    assert errors["velocity"]["relative_l2"] == pytest.approx(expected, rel=1e-12)
    assert errors["velocity"]["max_error"] == pytest.approx(np.hypot(0.01, 0.02), rel=1e-12)
    assert errors["u"]["relative_l2"] == pytest.approx(0.01, rel=1e-12)
    assert field_errors(ref, ref)["velocity"]["relative_l2"] == 0.0


def test_excess_pressure_error_sees_what_the_osmotic_pressure_hides():
    """P = p − Π is judged on its own: a pressure drop half as large is a 50 % error of P but a
    percent-level error of p, whose norm the double layers' osmotic pressure makes (ζ̂ = 1.5,
    ε = 0.1: Π ≈ 135 at the walls). Without a drop P_ref = 0 and the error of P is relative to the
    flow's viscous scale ‖|u|‖."""
    ref = exact(pressure_drop_hat=4.0)
    fields = {k: v.copy() for k, v in ref.fields.items()}
    X, _ = ref.mesh
    fields["p"] = fields["p"] - 0.5 * 4.0 * (1.0 - X)  # half the drop P_ref = Δp̂ (1 − x/ℓ), ℓ = 1
    errors = field_errors(Solution(ref.case, ref.x, ref.y, fields, "perturbed"), ref)
    assert errors["p_excess"]["relative_l2"] == pytest.approx(0.5, rel=1e-9)
    assert errors["p_excess"]["max_error"] == pytest.approx(0.5, rel=1e-9)
    assert errors["p"]["relative_l2"] < 0.06  # measured 4.1e-2
    assert field_errors(ref, ref)["p_excess"]["relative_l2"] < 1e-12

    still = exact()
    fields = {k: v.copy() for k, v in still.fields.items()}
    fields["p"] = fields["p"] + 1e-3
    errors = field_errors(Solution(still.case, still.x, still.y, fields, "perturbed"), still)
    weights = np.outer(*(0.5 * (np.r_[0.0, np.diff(t)] + np.r_[np.diff(t), 0.0]) for t in (still.x, still.y)))
    speed = np.sqrt(np.sum(weights * (still["u"] ** 2 + still["v"] ** 2)))
    assert errors["p_excess"]["relative_l2"] == pytest.approx(1e-3 / speed, rel=1e-9)


def test_pressure_shape_error_leaves_out_the_level_alone():
    """`p_shape` is p's error with its area mean left out: a constant added to p (what a
    periodic channel's gauge decides) is all of p's row and none of `p_shape`; a shape added
    on top is in both, and `p_shape` is its own norm over ‖p_ref‖ when it has zero mean."""
    ref = exact()
    X, _ = ref.mesh
    weights = np.outer(*(0.5 * (np.r_[0.0, np.diff(t)] + np.r_[np.diff(t), 0.0]) for t in (ref.x, ref.y)))
    norm = np.sqrt(np.sum(weights * ref["p"] ** 2))
    fields = {k: v.copy() for k, v in ref.fields.items()}
    fields["p"] = fields["p"] + 0.3
    errors = field_errors(Solution(ref.case, ref.x, ref.y, fields, "shifted"), ref)
    assert errors["p"]["relative_l2"] == pytest.approx(0.3 * np.sqrt(np.sum(weights)) / norm, rel=1e-9)
    assert errors["p_shape"]["relative_l2"] < 1e-12
    shape = 0.05 * np.cos(2.0 * np.pi * X)  # ℓ = 1 on this grid's x: zero mean by the trapezoid rule
    fields["p"] = fields["p"] + shape
    errors = field_errors(Solution(ref.case, ref.x, ref.y, fields, "shifted and bent"), ref)
    assert errors["p_shape"]["relative_l2"] == pytest.approx(np.sqrt(np.sum(weights * shape**2)) / norm, rel=1e-9)
    assert errors["p_shape"]["max_error"] == pytest.approx(0.05 / np.max(np.abs(ref["p"])), rel=1e-9)
    both = np.sqrt(0.3**2 * np.sum(weights) + np.sum(weights * shape**2)) / norm  # orthogonal parts
    assert errors["p"]["relative_l2"] == pytest.approx(both, rel=1e-9)


def test_interpolated_reference_on_another_grid_is_accurate():
    fine, coarse = exact(nx=9, ny=801), exact(nx=5, ny=101)
    errors = field_errors(coarse, fine)
    assert errors["paper_mean"]["relative_l2"] < 5e-6  # measured 2.4e-6 (cubic interpolation)
    # P is interpolated itself: rebuilt from interpolated p and c± it was off by 1.9e-4 here.
    assert errors["p_excess"]["relative_l2"] < 1e-10


def test_balances_of_the_exact_solution():
    b = balances(exact(ny=201))
    assert b["ion_flux_spread_c_plus"] < 1e-12 and b["ion_flux_spread_c_minus"] < 1e-12
    assert b["volume_flux_spread"] < 1e-12
    # The charge check differentiates ψ at the wall on the grid: fourth order, composite
    # quadratic rule across the channel (measured 2.7e-6 and 9.9e-8 on 101 and 201 nodes).
    b_coarse, b_fine = balances(exact(ny=101)), balances(exact(ny=201))
    order = np.log2(b_coarse["charge_balance"] / b_fine["charge_balance"])
    assert b_fine["charge_balance"] < 5e-7
    assert order > 3.5


def _sampled(ends: str, nx: int = 50, ny: int = 200) -> Solution:
    """The exact straight channel on a uniform grid, walls and ends included (a PINN's grid)."""
    case = case_from_problem(straight_problem(0.1, 1.5, field_hat=1.0, ends=ends))
    x, y = np.linspace(0.0, 1.0, nx), np.linspace(0.0, 1.0, ny)
    X, Y = np.meshgrid(x, y, indexing="ij")
    return Solution(case, x, y, exact_fields(case.problem, X, Y), "pinn")


@pytest.mark.parametrize("ends", ("periodic", "reservoir"))
def test_balances_of_the_exact_solution_on_a_uniform_grid(ends):
    b = balances(_sampled(ends))
    assert b["ion_flux_spread_c_plus"] < 1e-12 and b["ion_flux_spread_c_minus"] < 1e-12
    assert b["volume_flux_spread"] < 1e-12
    assert b["charge_balance"] < 1e-4  # measured 2.6e-5: ∂ψ/∂y at the wall on h = 1/199, ε = 0.1


@pytest.mark.parametrize("ends", ("periodic", "reservoir"))
def test_a_perturbed_field_raises_the_balances(ends):
    """A 1e-3 x-periodic perturbation of one field shows in the balances that depend on it."""
    solution = _sampled(ends)
    X, Y = solution.mesh
    bump = 1e-3 * np.sin(2.0 * np.pi * X) * 4.0 * Y * (1.0 - Y)

    def perturbed(name: str, change) -> dict[str, float]:
        fields = dict(solution.fields, **{name: change(solution.fields[name])})
        return balances(Solution(solution.case, solution.x, solution.y, fields, "pinn"))

    ions = perturbed("c_plus", lambda c: c * (1.0 + bump))
    assert ions["ion_flux_spread_c_plus"] > 1e-2 and ions["ion_flux_spread_c_minus"] < 1e-12  # measured 2.5e-2
    flow = perturbed("u", lambda u: u * (1.0 + bump))
    assert flow["volume_flux_spread"] == pytest.approx(1.5e-3, rel=0.05)
    assert flow["ion_flux_spread_c_plus"] > 1e-3  # advection carries the ions
    potential = perturbed("psi", lambda psi: psi + bump)
    assert potential["ion_flux_spread_c_plus"] > 1e-2
    charge = perturbed("c_plus", lambda c: c * (1.0 + 1e-3))  # uniform: shows in Gauss's law only
    assert charge["charge_balance"] > 1e-3 and charge["ion_flux_spread_c_plus"] < 1e-12


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


@pytest.fixture(scope="module")
def step_run(tmp_path_factory):
    """An FD run of zeta_step on 41 × 42 nodes: walls that change along x, no exact solution."""
    out = tmp_path_factory.mktemp("step") / "run"
    assert main(["solve", "zeta_step", "--out", str(out), "--nx", "41", "--ny", "42"]) == 0
    return out


def test_validate_without_a_reference_reports_the_balances_alone(step_run, capsys):
    """A case with no exact solution and no --reference: the balances, balances.png, no comparison
    figures (one left from an earlier comparison is removed: it would not match validation.json)."""
    import json

    from eofpinn import io

    capsys.readouterr()
    assert main(["validate", str(step_run), "--reference", str(step_run)]) == 0
    assert (step_run / "comparison.png").is_file()
    assert main(["validate", str(step_run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("zeta_step: fd, no reference (--reference DIR compares with another run of the case, e.g. FD; "
                        "a straight channel's default is its exact solution)")
    assert lines[start + 1] == "balances (from the run alone, 0 for an exact solution; on its 41 × 42 nodes):"
    expected = balances(io.read_run(step_run))
    assert [line.split() for line in lines[start + 2:start + 8]] == [[k, f"{v:.3e}"] for k, v in expected.items()]
    assert lines[start + 8] == f"wrote {step_run}/validation.json, balances.png"
    report = json.loads((step_run / "validation.json").read_text())
    assert report["reference"] is None and report["errors"] == {} and report["balances"] == pytest.approx(expected)
    assert (step_run / "balances.png").is_file() and not (step_run / "comparison.png").exists()
    assert not (step_run / "profiles_comparison.png").exists()
    assert max(expected["ion_flux_spread_c_plus"], expected["ion_flux_spread_c_minus"]) < 1e-3  # FD: no mark


def test_validate_refuses_the_exact_solution_of_a_patterned_case(step_run, capsys):
    capsys.readouterr()
    assert main(["validate", str(step_run), "--reference", "exact"]) == 2
    assert capsys.readouterr().err == (
        f"eofpinn: error: validate {step_run}: --reference exact: this case's walls change along x, and only a "
        "straight channel has an exact solution (physics.md §4); give --reference DIR (a run of the same case, "
        "e.g. FD), or leave --reference out for the balances alone\n")


def test_a_flux_spread_over_the_bound_is_marked():
    from eofpinn.validation.report import format_report

    report = {"case": "patterned_lacl3", "solver": "pinn", "reference": None, "grid": [321, 322],
              "balances": {"ion_flux_spread_c_plus": 2.2e-2, "ion_flux_mean_c_plus": 5.6e-2,
                           "charge_balance": 3e-2, "volume_flux_spread": 3.3e-3}}
    lines = format_report(report).splitlines()
    assert lines[2] == "  ion_flux_spread_c_plus       2.200e-02   over 1e-02"
    assert lines[3:] == ["  ion_flux_mean_c_plus         5.600e-02", "  charge_balance               3.000e-02",
                         "  volume_flux_spread           3.300e-03"]


def test_section_fluxes_stations():
    """FD's ion stations are the midpoints between nodes (its Scharfetter–Gummel fluxes), a sampled
    solution's its distinct nodes (periodic: all but the repeated x = ℓ); the volume flux's the
    nodes. On the exact straight channel every flux is the same through each station."""
    from eofpinn.validation.compare import section_fluxes

    sol = exact(nx=9)
    fluxes = section_fluxes(sol)
    assert np.array_equal(fluxes["c_plus"][0], sol.x[:-1]) and np.array_equal(fluxes["volume"][0], sol.x)
    for x, q, scale in fluxes.values():
        assert q.shape == x.shape and np.ptp(q) / scale < 1e-10 and scale > 0
    fd = Solution(sol.case, sol.x, sol.y, sol.fields, "fd")
    assert np.allclose(section_fluxes(fd)["c_minus"][0], 0.5 * (sol.x[1:] + sol.x[:-1]))


def test_validate_reference_none_gives_a_straight_channel_its_balances_alone(tmp_path, capsys):
    import json

    out = tmp_path / "run"
    assert main(["solve", "quickstart", "--solver", "exact", "--out", str(out), "--nx", "5", "--ny", "51"]) == 0
    capsys.readouterr()
    assert main(["validate", str(out), "--reference", "none"]) == 0
    text = capsys.readouterr().out
    assert "paper_mean" not in text and text.endswith(f"wrote {out}/validation.json, balances.png\n")
    report = json.loads((out / "validation.json").read_text())
    assert report["reference"] is None and report["balances"]["ion_flux_spread_c_plus"] < 1e-6


def test_balance_line_names_only_the_spreads_over_the_bound():
    from eofpinn.validation.report import balance_line

    found = {"ion_flux_spread_c_plus": 6.04e-3, "ion_flux_mean_c_plus": 6e-2, "ion_flux_spread_c_minus": 1.07e-1,
             "ion_flux_mean_c_minus": -2e-2, "charge_balance": 4.7e-4, "volume_flux_spread": 1e-2}
    assert balance_line(found) == ("balances: ion-flux spread c₊ 6.0e-03, c₋ 1.1e-01, volume-flux spread 1.0e-02, "
                                   "charge 4.7e-04 (c₋ over 1e-02; `eofpinn validate` plots where)")
    found["ion_flux_spread_c_minus"] = 9.9e-3
    assert balance_line(found).endswith("volume-flux spread 1.0e-02, charge 4.7e-04")
