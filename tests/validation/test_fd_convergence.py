"""The FD convergence study (eofpinn/verification/fd_convergence.py, validation/fd_convergence.py).

Measured on the tiny grids below (the tolerances are built around them):
* MMS on 8², 16², 32² cells: L2 orders 16 → 32 between 1.98 and 2.04 in every field of both
  set-ups (max norm 1.94–2.01); P has the largest L2 error, 5.9e-3 (periodic) at 32².
* patterned_zeta.toml on 9 × 22, 17 × 42, 33 × 82 nodes: pre-asymptotic; u converges at
  order 2.2 (Richardson error 9.9e-4), ψ, c±, p at order < 0.5 over the whole channel (the
  corner singularity where ζ̂ jumps) but 1.3–1.8 away from the corners.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eofpinn.cases import load_case
from eofpinn.verification.manufactured import FIELDS
from eofpinn.verification.fd_convergence import (
    mms_study,
    observed_orders,
    patterned_study,
    refinement_grids,
    richardson,
    zeta_jump_corners,
)
from validation.fd_convergence import mms_table, patterned_table

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "validation" / "fd_convergence.py"
CASE = REPO / "cases" / "patterned_zeta.toml"


def test_observed_orders_and_richardson_estimate():
    assert observed_orders([4e-2, 1e-2, 2.5e-3]) == pytest.approx([2.0, 2.0])
    estimate = richardson([4e-2, 1e-2])
    assert estimate["order"] == pytest.approx(2.0) and estimate["error"] == pytest.approx(1e-2 / 3)
    # Observed order below 1 is clipped to 1 for the estimate, and recorded unclipped.
    low = richardson([1e-2, 8e-3])
    assert low["observed_order"] == pytest.approx(np.log2(1.25)) and low["order"] == 1.0
    assert low["error"] == pytest.approx(8e-3)


def test_refinement_grids_nest_and_reject_odd_cells():
    assert refinement_grids(65, 162) == [(17, 42), (33, 82), (65, 162)]
    assert refinement_grids(65, 162, levels=4)[-1] == (129, 322)
    with pytest.raises(ValueError, match="divisible by 4"):
        refinement_grids(66, 162)


def test_corners_of_the_patterned_case():
    corners = zeta_jump_corners(load_case(CASE))
    assert corners == [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (2.0, 0.0), (2.0, 1.0)]


def test_mms_second_order_on_tiny_grids():
    result = mms_study((8, 16, 32))
    assert set(result["configurations"]) == {"periodic_noflux_inertia", "reservoir_boltzmann"}
    for name, configuration in result["configurations"].items():
        for field in FIELDS:
            l2, peak = configuration["errors"]["l2"][field], configuration["errors"]["max"][field]
            assert len(l2) == 3 and l2[-1] < 7e-3 and l2[-1] <= peak[-1], (name, field, l2, peak)
            assert 1.8 <= configuration["orders"]["l2"][field][-1] <= 2.2, (name, field, configuration["orders"])
            assert 1.8 <= configuration["orders"]["max"][field][-1] <= 2.2, (name, field, configuration["orders"])
    table = mms_table(result["configurations"]["reservoir_boltzmann"], result["cells"]).splitlines()
    assert table[0].split(" | ")[:5] == ["| field", "L2 8", "L2 16", "L2 32", "L2 p 8→16"]
    assert len(table) == 2 + len(FIELDS) and table[-1].startswith("| P | ")


@pytest.fixture(scope="module")
def tiny_patterned():
    # Uniform x (the case file clusters x at the ζ̂ jumps) and sharp jumps (the case file smooths
    # them over λ_D/4, which these grids cannot resolve): the corner singularity's signature.
    case = load_case(CASE)
    case = dataclasses.replace(case, fd=dataclasses.replace(case.fd, edge_stretch=0.0),
                               problem=dataclasses.replace(case.problem, zeta_transition=0.0))
    return patterned_study(case, refinement_grids(33, 82))


def test_patterned_richardson_on_tiny_grids(tiny_patterned):
    result = tiny_patterned
    assert result["grids"] == [[9, 22], [17, 42], [33, 82]] and len(result["corners"]) == 6
    fields = result["fields"]
    assert fields["u"]["whole"]["observed_order"] > 1.8 and fields["u"]["whole"]["error"] < 2e-3
    for name in ("psi", "c_plus", "c_minus", "p"):  # the corner singularity: far below second order
        assert fields[name]["whole"]["observed_order"] < 1.0, (name, fields[name])
        assert fields[name]["away"]["observed_order"] > fields[name]["whole"]["observed_order"] + 0.7, name
        assert fields[name]["away"]["error"] < fields[name]["whole"]["error"], name
    table = patterned_table(result).splitlines()
    assert table[0] == "| field | Δ 17×42 | Δ 33×82 | order | error | order away | error away |"
    json.dumps(result)  # the study's record is plain JSON


def _load_script():
    spec = importlib.util.spec_from_file_location("fd_convergence_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_json_figures_and_its_section(tmp_path, monkeypatch, tiny_patterned):
    page = tmp_path / "RESULTS.md"
    page.write_text("# results\n\n<!-- study:other -->\nkept\n<!-- /study:other -->\n")
    script = _load_script()
    solved = []  # the patterned solves are the tiny fixture's: the script's own plumbing is under test
    monkeypatch.setattr(script, "patterned_study", lambda case, grids, *_: solved.append(grids) or tiny_patterned)
    script.main(["--out", str(tmp_path), "--results-page", str(page), "--mms-cells", "8", "16",
                         "--grid", "33", "82", "--transition", "0"])
    assert solved == [[(9, 22), (17, 42), (33, 82)]]
    record = json.loads((tmp_path / "fd_convergence.json").read_text())
    assert record["mms"]["cells"] == [8, 16] and record["wall_time_s"] > 0 and record["machine"]
    for figure in ("fd_convergence_mms.png", "fd_convergence_patterned.png"):
        assert (tmp_path / figure).stat().st_size > 10_000
    text = page.read_text()
    assert "kept" in text and text.count("<!-- study:fd_convergence -->") == 1
    assert "--mms-cells 8 16" in text and "corner" in text


@pytest.mark.slow  # about a minute on 2 cores
def test_full_study_with_defaults(tmp_path):
    page = tmp_path / "RESULTS.md"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--results-page", str(page),
                    "--edge-stretch", "0", "--transition", "0"], check=True, cwd=tmp_path, capture_output=True)
    record = json.loads((tmp_path / "fd_convergence.json").read_text())
    for configuration in record["mms"]["configurations"].values():
        assert all(1.9 <= orders[-1] <= 2.1 for orders in configuration["orders"]["l2"].values())
    fields = record["patterned"]["fields"]
    assert record["patterned"]["grids"] == [[41, 42], [81, 82], [161, 162]]  # the case's grid and two halvings
    assert all(fields[n]["away"]["observed_order"] > 1.5 for n in fields), fields
    assert fields["u"]["whole"]["error"] < 1e-3
