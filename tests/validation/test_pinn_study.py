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
