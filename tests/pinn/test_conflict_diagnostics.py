"""Gradient-conflict diagnostics in the training history: right values at the row's θ_k,
in range, reused from GN updates, and invisible to the training trajectory."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import pytest
import torch

from eofpinn.cases import case_from_problem, load_case
from eofpinn.errors import CaseError, SolverError
from eofpinn.cases.pinn_settings import SettingError, replace
from eofpinn.pinn_runs import load_checkpoint, run_in_directory
from eofpinn.solvers.pinn import ChannelTask
from eofpinn.solvers.pinn import trainer as trainer_module
from eofpinn.solvers.pinn.conflict import conflict_diagnostics, per_term_gradients
from eofpinn.solvers.pinn.trainer import Trainer

QUICKSTART = Path(__file__).resolve().parents[2] / "cases" / "quickstart.toml"


def _history(out_dir) -> list[dict[str, float]]:
    with open(out_dir / "history.csv") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def _pairs(names) -> list[str]:
    return [f"cos_{a}__{b}" for i, a in enumerate(names) for b in names[i + 1:]]


def test_identical_and_opposite_gradients_give_the_limits() -> None:
    v = torch.tensor([0.3, -1.0, 2.0, 0.5], dtype=torch.float64)
    same = conflict_diagnostics([v, 4.0 * v, v], ("a", "b", "c"))
    assert same["grad_alignment"] == pytest.approx(1.0, abs=1e-15)
    assert [same[k] for k in ("cos_a__b", "cos_a__c", "cos_b__c")] == pytest.approx([1.0] * 3, abs=1e-15)
    assert same["cos_min"] == pytest.approx(1.0, abs=1e-15)
    assert all(-1.0 <= same[k] <= 1.0 for k in same if not k.startswith("gnorm_"))  # clipped against rounding
    # The per-term gradient norms ride along: ‖v‖, 4‖v‖, ‖v‖.
    norm = float(torch.linalg.vector_norm(v))
    assert [same[f"gnorm_{n}"] for n in "abc"] == pytest.approx([norm, 4.0 * norm, norm], rel=1e-15)
    opposite = conflict_diagnostics([v, -0.1 * v], ("pde", "wall"))
    assert opposite["cos_pde__wall"] == pytest.approx(-1.0, abs=1e-15)
    assert opposite["grad_alignment"] == pytest.approx(-1.0, abs=1e-15)
    assert opposite["cos_min"] == opposite["cos_pde__wall"]
    # Two orthogonal gradients: cosine 0, A = 2·‖(e1 + e2)/2‖² − 1 = 0.
    e1, e2 = torch.eye(2, dtype=torch.float64)
    orthogonal = conflict_diagnostics([e1, 3.0 * e2], ("x", "y"))
    assert orthogonal["cos_x__y"] == 0.0 and orthogonal["grad_alignment"] == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="2 gradients for 3 term names"):
        conflict_diagnostics([e1, e2], ("x", "y", "z"))


@pytest.mark.parametrize("weighting", ("gn", "none"))
def test_history_rows_carry_diagnostics_at_theta_k(tmp_path, quick_problem, small_settings, weighting):
    # Log steps 0, 3, 6, 9, 12: GN updates at 0 and 12 (gradients reused), fresh ones at 3, 6, 9
    # and for the final row; with weighting "none" every row forms its own.
    changes = {"steps": 12, "records.log_every": 3, "records.checkpoint_every": 100, "balancing.name": weighting}
    settings = replace(small_settings, {**changes, **({"balancing.every": 4} if weighting == "gn" else {})})
    case = case_from_problem(quick_problem, pinn=settings)
    run_in_directory(case, tmp_path / "run", settings, progress=False)
    rows = _history(tmp_path / "run")
    trainer = Trainer(ChannelTask(case, settings), settings)
    names = trainer.term_names
    assert [r["step"] for r in rows] == [0, 3, 6, 9, 12]
    for row in rows:
        pairs = [row[key] for key in _pairs(names)]
        assert len(pairs) == len(names) * (len(names) - 1) // 2
        assert all(-1.0 <= c <= 1.0 for c in pairs), row["step"]
        assert -1.0 <= row["grad_alignment"] <= 1.0
        assert row["cos_min"] == min(pairs)
    # Replay the trajectory and check rows 0 (a GN update step) and 6 (not one) against
    # gradients formed directly at θ_0 and θ_6.
    for step in (0, 6):
        while trainer.step < step:
            trainer.train_step()
        grads = per_term_gradients(list(trainer.terms_fn(trainer.points)), trainer.params)
        expected = conflict_diagnostics(grads, names)
        row = rows[[r["step"] for r in rows].index(step)]
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=1e-10, abs=1e-13), (step, key)
    assert (tmp_path / "run" / "gradient_conflict.png").stat().st_size > 10_000


def test_diagnostics_leave_the_trajectory_bit_identical_and_reuse_gn_gradients(
        tmp_path, quick_problem, small_settings, monkeypatch):
    settings = replace(small_settings, {"steps": 9, "records.log_every": 2, "balancing.every": 4, "records.checkpoint_every": 100, "points.resample_every": 3})
    calls = []
    original = trainer_module.per_term_gradients

    def counted(losses, params):
        calls.append(len(losses))
        return original(losses, params)

    monkeypatch.setattr(trainer_module, "per_term_gradients", counted)
    states = {}
    for flag in (True, False):
        calls.clear()
        run = replace(settings, {"records.conflict_diagnostics": flag})
        run_in_directory(case_from_problem(quick_problem, pinn=run), tmp_path / str(flag), run, progress=False)
        states[flag] = load_checkpoint(tmp_path / str(flag))
        # GN updates at steps 0, 4, 8 always; diagnostics add logs 2 and 6 and the final row 9
        # (logs 0, 4 and 8 reuse the update's gradients).
        assert len(calls) == (6 if flag else 3), flag
    on, off = states[True], states[False]
    for name, tensor in off["model"].items():
        assert torch.equal(on["model"][name], tensor), name
    assert torch.equal(on["balance"]["weights"], off["balance"]["weights"])
    for row_on, row_off in zip(on["history"], off["history"]):
        assert not any(k.startswith(("cos_", "grad_")) for k in row_off)
        assert {k: v for k, v in row_on.items() if k.startswith("loss")} == \
               {k: v for k, v in row_off.items() if k.startswith("loss")}
    assert not (tmp_path / "False" / "gradient_conflict.png").exists()


def test_new_settings_are_validated(tmp_path):
    text = QUICKSTART.read_text()
    assert "[pinn.records]\n" in text
    case = load_case(_write(tmp_path, text.replace("[pinn.records]\n", "[pinn.records]\nconflict_diagnostics = false\n"
                                                                       "snapshot_every = 250\n")))
    assert case.pinn.records.conflict_diagnostics is False and case.pinn.records.snapshot_every == 250
    quickstart = load_case(QUICKSTART).pinn.records
    assert quickstart.conflict_diagnostics is True and quickstart.snapshot_every == 0
    with pytest.raises(CaseError, match=r"\[pinn.records.conflict_diagnostics\] must be true or false \(default True\); "
                                        r"got 'yes'$"):
        load_case(_write(tmp_path, text.replace("[pinn.records]\n", '[pinn.records]\nconflict_diagnostics = "yes"\n')))
    with pytest.raises(CaseError, match=r"\[pinn.records.snapshot_every\] must be an integer ≥ 0 \(0: no snapshots\); "
                                        r"got -5$"):
        load_case(_write(tmp_path, text.replace("[pinn.records]\n", "[pinn.records]\nsnapshot_every = -5\n")))
    with pytest.raises(CaseError, match=r"\[pinn.records.snapshot_every\] must be an integer \(default 0\); got 2.5$"):
        load_case(_write(tmp_path, text.replace("[pinn.records]\n", "[pinn.records]\nsnapshot_every = 2.5\n")))
    with pytest.raises(SettingError, match=r"^\[pinn.records.snapshot_every\] must be an integer ≥ 0 \(0: no snapshots\); "
                                           r"got -1$"):
        replace(case.pinn, {"records.snapshot_every": -1})


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(text)
    return path


def test_single_term_has_no_pairs() -> None:
    row = conflict_diagnostics([torch.ones(3)], ("only",))
    assert row["grad_alignment"] == pytest.approx(1.0) and math.isnan(row["cos_min"])
    assert not [k for k in row if k.startswith("cos_") and k != "cos_min"]
