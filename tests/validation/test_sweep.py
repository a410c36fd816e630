"""Sweep bookkeeping: expansion, resumability and the degradation ratio."""

import json

import pytest

from eofpinn.errors import EofpinnError
from eofpinn.validation import sweep


def test_parse_and_expand():
    name, values = sweep.parse_param("debye_ratio=0.2,0.1,0.05")
    specs = sweep.expand(name, values, ["soap", "adam"], ["gn", "none"], 3)
    assert len(specs) == 3 * 2 * 2 * 3
    assert specs[0].name == "debye_ratio=0.2_soap_gn_seed0"
    with pytest.raises(EofpinnError, match="expected NAME=V1,V2"):
        sweep.parse_param("viscosity=1,2")


def test_finished_runs_are_skipped_and_partial_runs_resumed(tmp_path):
    spec = sweep.RunSpec("debye_ratio", 0.1, "soap", "gn", 0)
    run = tmp_path / spec.name
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"")
    assert sweep.run_command("c.toml", spec, run, 100)[-2:] == ["--resume", str(run)]
    (run / "summary.json").write_text(json.dumps({"info": {"final_errors": {"mean": 0.5}}}))
    status = sweep._launch("c.toml", spec, tmp_path, 100, 1, 0)
    assert status["status"] == "skipped (finished)"


def test_degradation_is_strong_over_weak_coupling_mean_over_seeds(tmp_path):
    rows = []
    for eps, errs in ((0.2, (1e-3, 3e-3)), (0.02, (4e-2, 6e-2))):
        for seed, err in enumerate(errs):
            rows.append({"method": "adam+gn", "parameter": "debye_ratio", "value": eps, "final": err,
                         "run": f"r{eps}{seed}", "best_loss": err, "best_ever": err, "ms_per_step": 1.0})
    assert sweep.degradation(rows)["adam+gn"] == pytest.approx(5e-2 / 2e-3)
    assert "25×" in sweep.format_table(rows)
