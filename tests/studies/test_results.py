"""A study's rows and tables without a cluster: observables from summary.json, the PINN
method comparison (degradation ratio), diverged runs, and what plots are drawn."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eofpinn.studies import results
from eofpinn.studies.plan import plan_study

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = str(REPO / "cases" / "quickstart.toml")
STRAIGHT = str(REPO / "cases" / "straight_channel.toml")


def test_numeric_values_of_axes_are_in_si_units():
    assert results.numeric_value("electrolyte.concentration", "0.1 mM") == pytest.approx(0.1)
    assert results.numeric_value("walls.bottom", "-25mV") == pytest.approx(-0.025)
    assert results.numeric_value("debye_ratio", 0.2) == 0.2
    assert results.numeric_value("walls.bottom", [[0, 1, -1]]) is None
    assert results.axis_label("channel.height") == "channel.height [m]"


def test_observables_are_every_number_a_summary_reports():
    summary = {"flow_rate_hat": 0.1, "mean_velocity_m_s": 2e-3, "flow_rate_per_depth_m2_s": 3e-11,
               "observables": {"current_A_per_m": 1.5e-9, "conductance": {"value": 2.0, "unit": "S"},
                               "flags": {"converged": True}},
               "info": {"errors_vs_exact": {"u": 1e-4, "paper_mean": 2e-4}}}
    assert results.observables(summary) == {"flow_rate_hat": 0.1, "flow_rate_per_depth_m2_s": 3e-11,
                                            "mean_velocity_m_s": 2e-3, "current_A_per_m": 1.5e-9,
                                            "conductance.value": 2.0}
    assert results.reference_errors(summary) == {"error_u": 1e-4, "error_mean": 2e-4}


def _rows(method: str, errors: dict[float, tuple[float, ...]]) -> list[dict]:
    return [{"method": method, "parameter": "debye_ratio", "value": eps, "final": err, "run": f"r{eps}{seed}",
             "status": "finished", "best_loss": err, "best_ever": err, "ms_per_step": 1.0, "grad_alignment": 0.0}
            for eps, errs in errors.items() for seed, err in enumerate(errs)]


def test_degradation_is_strong_over_weak_coupling_mean_over_seeds():
    rows = _rows("adam+gn", {0.2: (1e-3, 3e-3), 0.02: (4e-2, 6e-2)})
    assert results.degradation(rows)["adam+gn"] == pytest.approx(5e-2 / 2e-3)
    assert "25×" in results.format_table(rows, "pinn")


def test_mean_errors_weakest_coupling_first():
    rows = _rows("soap+gn", {0.05: (3.0,), 0.2: (1.0, 3.0), 0.1: (2.0,)})
    assert list(results.mean_errors(rows, "soap+gn").items()) == [(0.2, 2.0), (0.1, 2.0), (0.05, 3.0)]
    assert results.degradation(rows)["soap+gn"] == pytest.approx(1.5)
    # Any other parameter: the largest value is the strongest coupling.
    other = [{**r, "parameter": "electrolyte.concentration"} for r in rows]
    assert list(results.mean_errors(other, "soap+gn")) == [0.05, 0.1, 0.2]


def _fake_run(run_dir: Path, history: list[dict], summary: dict | None = None, failure: dict | None = None):
    run_dir.mkdir(parents=True)
    columns = list(history[0])
    lines = [",".join(columns)] + [",".join(str(r[c]) for c in columns) for r in history]
    (run_dir / "history.csv").write_text("\n".join(lines) + "\n")
    if summary is not None:
        (run_dir / "summary.json").write_text(json.dumps(summary))
    if failure is not None:
        (run_dir / "failure.json").write_text(json.dumps(failure))


def test_rows_keep_diverged_runs_and_history_diagnostics(tmp_path):
    study = plan_study(QUICKSTART, "pinn", tmp_path, params=["debye_ratio=0.2,0.05,0.02"], optimizers="adam")
    weak, crashed, strong = study.runs
    _fake_run(Path(weak.run_dir), [{"step": 0, "err_mean": 0.9, "grad_alignment": -0.5, "cos_min": -0.2},
                                   {"step": 50, "err_mean": 0.1, "grad_alignment": -0.7, "cos_min": -0.4}],
              summary={"flow_rate_hat": -0.5, "info": {"final_errors": {"mean": 0.1}, "best_loss_errors": {"mean": 0.1},
                                                       "best_errors": {"mean": 0.1}, "ms_per_step": 12.0}})
    _fake_run(Path(strong.run_dir), [{"step": 0, "err_mean": 0.8, "grad_alignment": 0.1, "cos_min": -0.9},
                                     {"step": 50, "err_mean": 0.6, "grad_alignment": 0.3, "cos_min": -0.7}])
    _fake_run(Path(crashed.run_dir), [{"step": 0, "err_mean": 0.8, "grad_alignment": 0.0, "cos_min": 0.0}])
    reason = "PINN training diverged: the loss became NaN or Inf between step 50 and step 60"
    outcomes = {weak.name: {"status": "finished"}, strong.name: {"status": "diverged", "reason": reason},
                crashed.name: {"status": "error", "reason": "KilledWorker"}}
    rows = results.collect(study, outcomes)
    assert [r["status"] for r in rows] == ["finished", "error", "diverged"]
    assert rows[0]["grad_alignment"] == pytest.approx(-0.6) and rows[0]["cos_min"] == pytest.approx(-0.3)
    assert rows[0]["flow_rate_hat"] == -0.5 and rows[0]["method"] == "adam+gn" and rows[0]["value"] == 0.2
    assert rows[2]["final"] == math.inf and rows[2]["best_ever"] == pytest.approx(0.6)
    assert results.degradation(rows)["adam+gn"] == math.inf  # the crashed run takes no part
    table = results.format_table(rows, "pinn")
    assert "diverged" in table and "inf×" in table and "    error: KilledWorker" in table
    pvd = results.write_collection(rows, tmp_path).read_text()
    assert weak.name in pvd and strong.name not in pvd
    saved = json.loads(results.write_json(study, rows, tmp_path / "sweep.json").read_text())
    assert saved["degradation"] == {"adam+gn": "inf"} and saved["rows"][2]["final"] == "inf"


def test_plots_show_each_observable_against_each_swept_parameter(tmp_path):
    study = plan_study(STRAIGHT, "exact", tmp_path, params=["electrolyte.concentration=1mM,10mM",
                                                            "channel.height=30nm,60nm"])
    rows = [{"run": s.name, **s.parameters, "status": "finished", "flow_rate_hat": 0.1 * i,
             "observables.current_A": 1e-9 * (i + 1)} for i, s in enumerate(study.runs)]
    written = results.write_plots(study, rows, tmp_path)
    assert sorted(p.name for p in written) == ["flow_rate_hat.png", "observables.current_A.png"]
    assert results.write_plots(plan_study(STRAIGHT, "exact", tmp_path), rows[:1], tmp_path / "one") == []
