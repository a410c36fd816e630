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


def _fake_run(out_dir, spec, history_rows, summary=None, log=""):
    run = out_dir / spec.name
    run.mkdir(parents=True)
    columns = list(history_rows[0])
    lines = [",".join(columns)] + [",".join(str(r[c]) for c in columns) for r in history_rows]
    (run / "history.csv").write_text("\n".join(lines) + "\n")
    if summary is not None:
        (run / "summary.json").write_text(json.dumps({"info": summary}))
    (out_dir / f"{spec.name}.log").write_text(log)


def test_collect_keeps_diverged_runs_and_history_diagnostics(tmp_path):
    weak = sweep.RunSpec("debye_ratio", 0.2, "adam", "gn", 0)
    strong = sweep.RunSpec("debye_ratio", 0.02, "adam", "gn", 0)
    crashed = sweep.RunSpec("debye_ratio", 0.05, "adam", "gn", 0)
    _fake_run(tmp_path, weak, [{"step": 0, "err_mean": 0.9, "grad_alignment": -0.5, "cos_min": -0.2},
                               {"step": 50, "err_mean": 0.1, "grad_alignment": -0.7, "cos_min": -0.4}],
              summary={"final_errors": {"mean": 0.1}, "best_loss_errors": {"mean": 0.1},
                       "best_errors": {"mean": 0.1}, "ms_per_step": 12.0})
    _fake_run(tmp_path, strong, [{"step": 0, "err_mean": 0.8, "grad_alignment": 0.1, "cos_min": -0.9},
                                 {"step": 50, "err_mean": 0.6, "grad_alignment": 0.3, "cos_min": -0.7}],
              log="SolverError: PINN training diverged: the loss became NaN or Inf between step 50 and step 60")
    _fake_run(tmp_path, crashed, [{"step": 0, "err_mean": 0.8, "grad_alignment": 0.0, "cos_min": 0.0}],
              log="Traceback: killed")
    rows = sweep.collect([weak, strong, crashed], tmp_path)
    assert [r["status"] for r in rows] == ["finished", "diverged (last finite log at step 50)"]
    assert rows[0]["grad_alignment"] == pytest.approx(-0.6) and rows[0]["cos_min"] == pytest.approx(-0.3)
    assert rows[1]["final"] == float("inf") and rows[1]["best_ever"] == pytest.approx(0.6)
    assert sweep.degradation(rows)["adam+gn"] == float("inf")
    table = sweep.format_table(rows)
    assert "diverged" in table and "inf×" in table
    pvd = sweep.write_collection(rows, tmp_path).read_text()
    assert weak.name in pvd and strong.name not in pvd


def test_mean_errors_weakest_coupling_first():
    rows = [{"method": "soap+gn", "parameter": "debye_ratio", "value": v, "final": e}
            for v, e in ((0.05, 3.0), (0.2, 1.0), (0.1, 2.0), (0.2, 3.0))]
    assert list(sweep.mean_errors(rows, "soap+gn").items()) == [(0.2, 2.0), (0.1, 2.0), (0.05, 3.0)]
    assert sweep.degradation(rows)["soap+gn"] == pytest.approx(1.5)
