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

    def fake(name, seeds, out, threads=0, finished_only=False):
        errors = {f"err_{f}": 1e-3 for f in pinn_targets.FIELDS}
        runs = [{**errors, "err_v": v, "err_mean": 1e-4, "volume_flux_spread": 1e-3, "ion_flux_spread": 2e-3,
                 "train_s": 100.0 + seed, "seed": seed, "steps": 10} for seed, v in enumerate((5e-3, 2e-2))]
        median = {**errors, "err_v": 1.25e-2, "err_mean": 1e-4, "volume_flux_spread": 1e-3, "ion_flux_spread": 2e-3,
                  "case": name, "seeds": 2, "steps": 10, "train_s": 101.0, "target": "t", "met": "no",
                  "seeds_met": "1/2", "reference": "FD", "ref_error": 1e-4}
        median["per_seed"] = [{**r, "case": name, "met": "yes" if pinn_targets.meets(name, r) else "no"} for r in runs]
        return median

    monkeypatch.setattr(pinn_targets, "run_case", fake)
    pinn_targets.main(["--cases", "zeta_step,patterned_zeta", "--out", str(tmp_path / "out")])
    pinn_targets.main(["--cases", "zeta_step", "--out", str(tmp_path / "out")])
    _, (rows, seeds) = results_page.section_tables("pinn_targets", page)
    assert [row["case"] for row in rows] == ["patterned_zeta", "zeta_step"]
    assert [(row["case"], row["seed"], row["met"], row["err_v"]) for row in seeds] == [
        ("patterned_zeta", "0", "yes", "5.0e-03"), ("patterned_zeta", "1", "no", "2.0e-02"),
        ("zeta_step", "0", "yes", "5.0e-03"), ("zeta_step", "1", "no", "2.0e-02")]
