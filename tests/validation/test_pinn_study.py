"""validation/pinn_study.py: a study's run directory continues from its checkpoint."""

from __future__ import annotations

import pytest

import eofpinn.pinn_runs
from eofpinn.cases import load_case
from eofpinn.errors import SolverError
from validation import pinn_study


@pytest.mark.parametrize("has_checkpoint", [False, True])
def test_an_interrupted_study_run_resumes_from_its_checkpoint(tmp_path, monkeypatch, has_checkpoint):
    calls = []

    def fake_run(case, out_dir, settings, reference=None, resume=None, **kwargs):
        calls.append(resume)
        raise SolverError("stopped by the test")

    monkeypatch.setattr(eofpinn.pinn_runs, "run_in_directory", fake_run)
    out_dir = tmp_path / "seed0"
    out_dir.mkdir()
    if has_checkpoint:
        (out_dir / "checkpoint.pt").write_bytes(b"")
    row = pinn_study.run_pinn(load_case("quickstart"), {"steps": 5}, None, out_dir)
    assert row["status"] == "diverged: stopped by the test"
    assert calls == [out_dir if has_checkpoint else None]


def test_a_finished_run_of_other_settings_is_refused_not_reported(tmp_path, monkeypatch):
    """A study rerun with another --steps into the same --out must not report the old runs
    under the new settings: the finished run's recorded settings are compared with the asked."""
    import json

    from eofpinn.cases.pinn_settings import as_table
    from eofpinn.errors import EofpinnError
    from eofpinn.cases import with_settings

    case = load_case("quickstart")
    recorded = as_table(with_settings(case, {"steps": 500, "seed": 1}).pinn)
    out_dir = tmp_path / "seed1"
    out_dir.mkdir()
    info = {"settings": json.loads(json.dumps(recorded)), "final_errors": {"psi": 1e-3}, "steps": 500,
            "train_seconds": 1.0, "ms_per_step": 2.0}
    (out_dir / "summary.json").write_text(json.dumps({"info": info}))
    monkeypatch.setattr(eofpinn.pinn_runs, "run_in_directory", lambda *a, **k: pytest.fail("must not train"))

    row = pinn_study.run_pinn(case, {"steps": 500, "seed": 1, "threads": 1}, None, out_dir)
    assert row["status"] == "skipped" and row["steps"] == 500 and row["err_psi"] == 1e-3
    with pytest.raises(EofpinnError) as refused:
        pinn_study.run_pinn(case, {"steps": 1500, "seed": 1}, None, out_dir)
    assert str(refused.value) == (f"{out_dir}: a finished run of other settings (steps 500 there, 1500 now); "
                                  "use another --out or remove that run")
