"""Training snapshots: .vts files at the right steps, a .pvd that lists them, and a collection
that stays the one trajectory's after a resume."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
import pyvista as pv

from eofpinn.cases import case_from_problem
from eofpinn.cases.pinn_settings import replace
from eofpinn.pinn_runs import COLLECTION, SNAPSHOT_DIR, load_checkpoint, run_in_directory


def _collection(run_dir) -> list[tuple[float, str]]:
    root = ElementTree.parse(run_dir / COLLECTION).getroot()
    assert root.tag == "VTKFile" and root.get("type") == "Collection"
    return [(float(d.get("timestep")), d.get("file")) for d in root.iter("DataSet")]


def _files(run_dir) -> list[str]:
    return sorted(p.name for p in (run_dir / SNAPSHOT_DIR).iterdir())


def test_snapshots_every_n_steps_and_at_the_end(tmp_path, quick_problem, small_settings):
    settings = replace(small_settings, {"steps": 10, "records.snapshot_every": 4, "records.log_every": 5, "records.checkpoint_every": 100})
    solution = run_in_directory(case_from_problem(quick_problem, pinn=settings), tmp_path, settings, progress=False)
    assert _files(tmp_path) == ["step_000000.vts", "step_000004.vts", "step_000008.vts", "step_000010.vts"]
    entries = _collection(tmp_path)
    assert entries == [(s, f"snapshots/step_{s:06d}.vts") for s in (0, 4, 8, 10)]
    assert all((tmp_path / file).is_file() for _, file in entries)
    last = pv.read(tmp_path / entries[-1][1])
    nx, ny = settings.records.eval_nx, settings.records.eval_ny
    assert last.n_points == nx * ny and tuple(last.dimensions) == (nx, ny, 1)
    for name in ("potential_V", "c_plus_mol_m3", "velocity_m_s", "excess_pressure_Pa", "u_nondim", "psi_nondim"):
        assert name in last.point_data, name
    # The last snapshot is the returned solution (VTK orders points with x fastest).
    for name in ("u", "c_plus", "phi"):
        np.testing.assert_array_equal(np.asarray(last[f"{name}_nondim"]).reshape(ny, nx).T, solution[name])
    first = pv.read(tmp_path / entries[0][1])
    assert not np.array_equal(first["u_nondim"], last["u_nondim"])  # training moved the fields


def test_no_snapshots_by_default(tmp_path, quick_problem, small_settings):
    settings = replace(small_settings, {"steps": 2, "records.checkpoint_every": 100})
    run_in_directory(case_from_problem(quick_problem, pinn=settings), tmp_path, settings, progress=False)
    assert not (tmp_path / SNAPSHOT_DIR).exists() and not (tmp_path / COLLECTION).exists()


def test_resume_rewrites_what_a_killed_run_left_after_the_checkpoint(tmp_path, quick_problem, small_settings,
                                                                     file_trainer):
    settings = replace(small_settings, {"steps": 12, "records.snapshot_every": 4, "records.log_every": 3, "records.checkpoint_every": 6, "records.conflict_diagnostics": False})
    case = case_from_problem(quick_problem, pinn=settings)
    straight, split = tmp_path / "straight", tmp_path / "split"
    run_in_directory(case, straight, settings, progress=False)
    # A run stopped at step 6 (checkpoint there, final snapshot 6), kept aside ...
    run_in_directory(case, split, replace(settings, {"steps": 6}), progress=False)
    shutil.copyfile(split / "checkpoint.pt", tmp_path / "step6.pt")
    assert [t for t, _ in _collection(split)] == [0, 4, 6]
    # ... then a continuation killed after step 12 had written snapshots past the checkpoint,
    # plus one half-written temporary.
    run_in_directory(case, split, settings, resume=split, progress=False)
    (split / SNAPSHOT_DIR / "step_000009.vts").write_text("stale")
    (split / SNAPSHOT_DIR / ".step_000016.vts.tmp123.vts").write_text("half")
    # Resuming at k = 6 keeps only the snapshots of steps < 6 before it continues ...
    trainer = file_trainer(case, settings, split)
    trainer.load_state(load_checkpoint(tmp_path / "step6.pt"))
    snapshots = trainer.observers[1]
    snapshots.truncate(trainer.step)
    assert [t for t, _ in _collection(split)] == [0, 4] and _files(split) == ["step_000000.vts", "step_000004.vts"]
    # ... and the continued run ends with the uninterrupted run's collection and fields.
    run_in_directory(case, split, settings, resume=tmp_path / "step6.pt", progress=False)
    assert _collection(split) == _collection(straight) == [(s, f"snapshots/step_{s:06d}.vts") for s in (0, 4, 8, 12)]
    assert _files(split) == _files(straight)
    for step in (4, 8, 12):
        a, b = (pv.read(run / SNAPSHOT_DIR / f"step_{step:06d}.vts") for run in (straight, split))
        for name in ("u_nondim", "c_plus_nondim", "psi_nondim"):
            np.testing.assert_allclose(b[name], a[name], rtol=1e-12, atol=1e-14, err_msg=f"{step} {name}")


def test_snapshot_time_is_not_step_time(tmp_path, quick_problem, small_settings, monkeypatch, file_trainer):
    import time

    settings = replace(small_settings, {"steps": 4, "records.snapshot_every": 1, "records.checkpoint_every": 100})
    trainer = file_trainer(case_from_problem(quick_problem, pinn=settings), settings, tmp_path)
    snapshots = trainer.observers[1]
    original = snapshots.add

    def slow_add(solution, step):
        time.sleep(0.4)
        return original(solution, step)

    monkeypatch.setattr(snapshots, "add", slow_add)
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    assert len(_files(tmp_path)) == 5
    # Five snapshots sleep 2 s in all, outside the step clock whatever the machine's load: the
    # wall time exceeds the training time by at least that much.
    assert wall - trainer.train_seconds >= 2.0
    assert trainer.result().info["ms_per_step"] == pytest.approx(1e3 * trainer.train_seconds / 4)
