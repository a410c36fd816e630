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
from eofpinn.solvers.pinn import checkpoint, solve_pinn
from eofpinn.solvers.pinn import training as training_module
from eofpinn.solvers.pinn.training import Trainer
from eofpinn.solvers.pinn.weighting import conflict_diagnostics, per_term_gradients

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
    assert all(-1.0 <= value <= 1.0 for value in same.values())  # clipped against rounding
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
    settings = dataclasses.replace(small_settings, steps=12, log_every=3, gn_frequency=4, checkpoint_every=100,
                                   weighting=weighting)
    case = case_from_problem(quick_problem, pinn=settings)
    solve_pinn(case, settings, tmp_path / "run", progress=False)
    rows = _history(tmp_path / "run")
    trainer = Trainer(case, settings, tmp_path / "replay")
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
    settings = dataclasses.replace(small_settings, steps=9, log_every=2, gn_frequency=4, checkpoint_every=100,
                                   resample_every=3)
    calls = []
    original = training_module.per_term_gradients

    def counted(losses, params):
        calls.append(len(losses))
        return original(losses, params)

    monkeypatch.setattr(training_module, "per_term_gradients", counted)
    states = {}
    for flag in (True, False):
        calls.clear()
        run = dataclasses.replace(settings, conflict_diagnostics=flag)
        solve_pinn(case_from_problem(quick_problem, pinn=run), run, tmp_path / str(flag), progress=False)
        states[flag] = checkpoint.load(tmp_path / str(flag), torch.device("cpu"))
        # GN updates at steps 0, 4, 8 always; diagnostics add logs 2 and 6 and the final row 9
        # (logs 0, 4 and 8 reuse the update's gradients).
        assert len(calls) == (6 if flag else 3), flag
    on, off = states[True], states[False]
    for name, tensor in off["model"].items():
        assert torch.equal(on["model"][name], tensor), name
    assert torch.equal(on["weighting"]["weights"], off["weighting"]["weights"])
    for row_on, row_off in zip(on["history"], off["history"]):
        assert not any(k.startswith(("cos_", "grad_")) for k in row_off)
        assert {k: v for k, v in row_on.items() if k.startswith("loss")} == \
               {k: v for k, v in row_off.items() if k.startswith("loss")}
    assert not (tmp_path / "False" / "gradient_conflict.png").exists()


def test_new_settings_are_validated(tmp_path, quick_problem, small_settings):
    text = QUICKSTART.read_text()
    case = load_case(_write(tmp_path, text.replace("[pinn]", "[pinn]\nconflict_diagnostics = false\nsnapshot_every = 250")))
    assert case.pinn.conflict_diagnostics is False and case.pinn.snapshot_every == 250
    assert load_case(QUICKSTART).pinn.conflict_diagnostics is True and load_case(QUICKSTART).pinn.snapshot_every == 0
    with pytest.raises(CaseError, match=r"\[pinn.conflict_diagnostics\] must be of type bool"):
        load_case(_write(tmp_path, text.replace("[pinn]", '[pinn]\nconflict_diagnostics = "yes"')))
    with pytest.raises(CaseError, match=r"\[pinn.snapshot_every\] must be non-negative; got -5"):
        load_case(_write(tmp_path, text.replace("[pinn]", "[pinn]\nsnapshot_every = -5")))
    with pytest.raises(CaseError, match=r"\[pinn.snapshot_every\] must be of type int"):
        load_case(_write(tmp_path, text.replace("[pinn]", "[pinn]\nsnapshot_every = 2.5")))
    bad = dataclasses.replace(small_settings, snapshot_every=-1)
    with pytest.raises(SolverError, match=r"\[pinn\] snapshot_every must be 0 \(no snapshots\) or more; got -1"):
        solve_pinn(case_from_problem(quick_problem, pinn=bad), bad, tmp_path / "bad", progress=False)
    bad = dataclasses.replace(small_settings, conflict_diagnostics="yes")
    with pytest.raises(SolverError, match=r"\[pinn\] conflict_diagnostics must be true or false; got 'yes'"):
        solve_pinn(case_from_problem(quick_problem, pinn=bad), bad, tmp_path / "bad", progress=False)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(text)
    return path


def test_single_term_has_no_pairs() -> None:
    row = conflict_diagnostics([torch.ones(3)], ("only",))
    assert row["grad_alignment"] == pytest.approx(1.0) and math.isnan(row["cos_min"])
    assert not [k for k in row if k.startswith("cos_") and k != "cos_min"]
