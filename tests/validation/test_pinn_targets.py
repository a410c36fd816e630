"""validation/pinn_targets.py: the 2D cases are judged against FD on the case's grid halved."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from eofpinn.cases import load_case
from eofpinn.errors import EofpinnError
from eofpinn.solvers.fd import solve_fd
from eofpinn.solvers.fd.grid import StaggeredGrid
from eofpinn.verification.fd_convergence import relative_difference
from validation import pinn_study, pinn_targets


def test_the_halved_grid_keeps_every_node_of_the_case_grid():
    """Richardson's estimate compares the two solutions at the case grid's nodes: along x those
    must be nodes of the halved grid too, on the stretched maps (edges and walls) as well."""
    case = load_case("zeta_step")
    assert pinn_targets.halved_grid(case.fd.nx, case.fd.ny) == (129, 322)
    problem, fd = case.problem, case.fd
    coarse = StaggeredGrid.build(problem, fd.nx, fd.ny, fd.wall_stretch, fd.edge_stretch)
    fine = StaggeredGrid.build(problem, *pinn_targets.halved_grid(fd.nx, fd.ny), fd.wall_stretch, fd.edge_stretch)
    np.testing.assert_allclose(fine.x_nodes[::2], coarse.x_nodes, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fine.y_faces[::2], coarse.y_faces, rtol=0, atol=1e-12)


def test_the_reference_of_a_2d_case_is_fd_halved_with_its_own_error(tmp_path):
    case = _small(load_case("zeta_step"))
    reference, about = pinn_targets.references(case, tmp_path / "fd")
    assert (reference.x.size, reference.y.size) == (33, 42)
    assert about["reference"] == "FD 33×42"
    coarse = about["case_grid"]
    assert (coarse.x.size, coarse.y.size) == (17, 22)
    # The estimate says how far the reference is from a grid halved once more: for each field the
    # estimate ‖fine − coarse‖ / 3 is 1.0–1.4× that distance (measured; 4/3 for exact second order,
    # the finer grid being itself a quarter as far off), v the largest.
    finer = solve_fd(case, nx=65, ny=82)
    estimates = {name: relative_difference(reference, coarse, name) / 3.0 for name in pinn_targets.FIELDS}
    for name, estimate in estimates.items():
        assert 0.9 < estimate / relative_difference(finer, reference, name) < 2.0, name
    assert about["ref_error"] == pytest.approx(max(estimates.values()), rel=1e-12) == estimates["v"]
    # The kept solutions are reused, and one kept on another grid is refused.
    again, _ = pinn_targets.references(case, tmp_path / "fd")
    np.testing.assert_array_equal(again["v"], reference["v"])
    with pytest.raises(EofpinnError) as refused:
        pinn_study.fd_reference(case, tmp_path / "fd_33x42")
    assert str(refused.value) == (f"{tmp_path / 'fd_33x42'}: an FD reference on 33 × 42 nodes, not the 17 × 22 "
                                  "asked for; remove it or use another --out")


def _small(case):
    """The case on a 17 × 22 FD grid (a few seconds to solve twice)."""
    return dataclasses.replace(case, fd=dataclasses.replace(case.fd, nx=17, ny=22))


def test_the_table_lists_each_seed_and_carries_the_seeds_of_cases_not_rerun(tmp_path, monkeypatch):
    """A case tabulated now gives its median row and one row per seed; a case not rerun keeps both
    its row and its seeds' rows from the page (runs faked: the tabulation alone)."""
    from validation import results_page

    page = tmp_path / "RESULTS.md"
    monkeypatch.setattr(pinn_targets, "section_tables", lambda name: results_page.section_tables(name, page))
    monkeypatch.setattr(pinn_targets, "write_section",
                        lambda name, command, body: results_page.write_section(name, command, body, page))

    def fake(name, seeds, out, threads=0, finished_only=False, suite=pinn_targets.SHIPPED):
        errors = {f"err_{f}": 1e-3 for f in pinn_targets.FIELDS}
        runs = [{**errors, "err_v": v, "err_mean": 1e-4, "volume_flux_spread": 1e-3, "ion_flux_spread": 2e-3,
                 "train_s": 100.0 + seed, "seed": seed, "steps": 10} for seed, v in enumerate((5e-3, 2e-2))]
        median = {**errors, "err_v": 1.25e-2, "err_mean": 1e-4, "volume_flux_spread": 1e-3, "ion_flux_spread": 2e-3,
                  "case": name, "seeds": 2, "steps": 10, "train_s": 101.0, "target": "t", "met": "no",
                  "seeds_met": "1/2", "reference": "FD", "ref_error": 1e-4}
        median["per_seed"] = [{**r, "case": name, "met": "yes" if pinn_targets.meets(suite.targets[name], r) else "no"} for r in runs]
        return median

    monkeypatch.setattr(pinn_targets, "run_case", fake)
    pinn_targets.main(["--cases", "zeta_step,patterned_zeta", "--out", str(tmp_path / "out")])
    pinn_targets.main(["--cases", "zeta_step", "--out", str(tmp_path / "out")])
    _, (rows, seeds) = results_page.section_tables("pinn_targets", page)
    assert [row["case"] for row in rows] == ["patterned_zeta", "zeta_step"]
    assert [(row["case"], row["seed"], row["met"], row["err_v"]) for row in seeds] == [
        ("patterned_zeta", "0", "yes", "5.0e-03"), ("patterned_zeta", "1", "no", "2.0e-02"),
        ("zeta_step", "0", "yes", "5.0e-03"), ("zeta_step", "1", "no", "2.0e-02")]


def test_the_held_out_cases_are_the_ones_their_files_say():
    """issue_asym is the case issue 15 opened with (ε = 0.04, ζ̂ = ±0.2 below, −0.1 above, Ê = 1);
    thin_patterned is patterned_zeta at a third of its Debye ratio with −75 mV patches."""
    from validation.pinn_heldout import HELDOUT

    asym = load_case(HELDOUT.case_file("issue_asym")).problem
    assert asym.debye_ratio == pytest.approx(0.04, rel=1e-3)
    assert [s.zeta_hat for s in asym.zeta_bottom] == pytest.approx([0.2, -0.2], rel=1e-3)
    assert [s.zeta_hat for s in asym.zeta_top] == pytest.approx([-0.1], rel=1e-3)
    assert asym.field_hat == pytest.approx(1.0, rel=1e-3)
    assert not asym.mirror_symmetric
    thin = load_case(HELDOUT.case_file("thin_patterned")).problem
    shipped = load_case("patterned_zeta").problem
    assert thin.debye_ratio / shipped.debye_ratio == pytest.approx(10 ** -0.5, rel=1e-6)
    assert [s.zeta_hat for s in thin.zeta_bottom] == pytest.approx([-75 / 25.693, 25 / 25.693], rel=1e-3)
    step = load_case(HELDOUT.case_file("step_backpressure")).problem
    assert step.ends == "reservoir" and step.pressure_drop_hat < 0  # against the flow
    unequal = load_case(HELDOUT.case_file("unequal_patches")).problem
    assert [s.zeta_hat for s in unequal.zeta_bottom] == pytest.approx([-50 / 25.693, -10 / 25.693, 20 / 25.693], rel=1e-3)
    assert unequal.length_ratio == pytest.approx(4.0) and unequal.pressure_drop_hat > 0  # along the flow
    assert not unequal.mirror_symmetric
    overlapping = load_case(HELDOUT.case_file("overlapping_patterned")).problem
    assert overlapping.debye_ratio == pytest.approx(0.1964, rel=1e-3)  # layers that overlap
    assert not overlapping.mirror_symmetric  # alike patterns out of step
    assert set(HELDOUT.targets) == {"issue_asym", "thin_patterned", "step_backpressure", "unequal_patches",
                                    "overlapping_patterned"}
    assert not set(HELDOUT.targets) & set(pinn_targets.TARGETS)


def test_the_held_out_suite_has_its_own_section(tmp_path, monkeypatch):
    """pinn_heldout tabulates into `pinn_heldout` with its own targets and leaves `pinn_targets`
    alone (runs faked: the tabulation alone)."""
    from validation import pinn_heldout, results_page

    page = tmp_path / "RESULTS.md"
    monkeypatch.setattr(pinn_targets, "section_tables", lambda name: results_page.section_tables(name, page))
    monkeypatch.setattr(pinn_targets, "write_section",
                        lambda name, command, body: results_page.write_section(name, command, body, page))
    seen = []

    def fake(name, seeds, out, threads=0, finished_only=False, suite=pinn_targets.SHIPPED):
        seen.append((name, suite.section, out))
        run = {**{f"err_{f}": 2e-3 for f in pinn_targets.FIELDS}, "err_p": 4e-2, "err_mean": 1e-4,
               "volume_flux_spread": 1e-3, "ion_flux_spread": 2e-3, "train_s": 100.0, "seed": 0, "steps": 10}
        met = "yes" if pinn_targets.meets(suite.targets[name], run) else "no"
        return {**run, "case": name, "seeds": 1, "target": pinn_targets.target_text(suite.targets[name]),
                "met": met, "seeds_met": f"{int(met == 'yes')}/1", "reference": "FD", "ref_error": 1e-4,
                "per_seed": [{**run, "case": name, "met": met}]}

    monkeypatch.setattr(pinn_targets, "run_case", fake)
    pinn_heldout.main(["--cases", "thin_patterned", "--out", str(tmp_path / "out")])
    assert seen == [("thin_patterned", "pinn_heldout", tmp_path / "out")]
    stamp, (rows, seeds) = results_page.section_tables("pinn_heldout", page)
    assert [(r["case"], r["target"], r["met"]) for r in rows] == [("thin_patterned", "ψ,c±,u,v ≤ 0.01, p ≤ 0.03", "no")]
    assert [(r["case"], r["seed"], r["err_p"]) for r in seeds] == [("thin_patterned", "0", "4.0e-02")]
    assert "python validation/pinn_heldout.py --cases thin_patterned" in page.read_text()
    assert results_page.section_tables("pinn_targets", page)[1] == []


def test_a_case_with_no_finished_run_is_not_run_not_diverged(tmp_path, monkeypatch, capsys):
    """--finished-only over a case none of whose seeds has finished tabulates it as "not run":
    "diverged" is for runs that were tried and failed."""
    monkeypatch.setattr(pinn_targets, "references", lambda case, out: (None, {"reference": "FD", "ref_error": 0.0}))
    row = pinn_targets.run_case("patterned_zeta", 2, tmp_path, finished_only=True)
    assert (row["steps"], row["seeds"], row["met"], row["seeds_met"]) == ("not run", 0, "no", "0/0")
    assert "patterned_zeta seed 1: not run (--finished-only)" in capsys.readouterr().out
