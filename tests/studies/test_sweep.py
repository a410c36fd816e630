"""Sweeps on a real dask.distributed cluster: results equal to direct solves, resumption,
recorded failures, refusals, a killed worker, and the CLI on local and tcp:// schedulers.

Most tests share one in-process LocalCluster of two worker threads (processes=False, over TCP
so the CLI can reach it with --scheduler tcp://); the killed-worker test and the
--scheduler local test start worker processes of their own.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, LocalCluster

from eofpinn import api, io, runs
from eofpinn.cases import load_with_overrides
from eofpinn.cli import main
from eofpinn.studies import plan_study, run_study

REPO = Path(__file__).resolve().parents[2]
STRAIGHT = str(REPO / "cases" / "straight_channel.toml")
GRID = {"nx": 5, "ny": 21}
AXES = ["electrolyte.concentration=1mM,10mM", "channel.height=30nm,60nm"]


@pytest.fixture(scope="module")
def client():
    """Two single-threaded workers in this process, reachable over TCP."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield client


def _mtimes(folder: Path) -> dict[str, int]:
    """Every file below `folder` with its modification time, the lock (rewritten by each
    claim with the claimant's PID) left out: 'nothing rewritten' is this staying equal."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file() and p.name != runs.LOCK}


def test_a_2x2_exact_sweep_on_two_workers_equals_direct_solves(client, tmp_path):
    out = tmp_path / "sweep"
    study = plan_study(STRAIGHT, "exact", out, params=AXES, options=GRID)
    report: list[str] = []
    tic = time.perf_counter()
    result = run_study(study, out, client, report=report.append)
    assert time.perf_counter() - tic < 60
    assert len(client.scheduler_info()["workers"]) == 2
    assert [r["status"] for r in result.rows] == ["finished"] * 4 and result.complete
    assert sorted(line.split(": ")[1].split(" ")[0] for line in report) == ["finished"] * 4
    for spec, row in zip(study.runs, result.rows):
        case = load_with_overrides(STRAIGHT, spec.overrides)
        direct = api.solve(case, "exact", **GRID)
        summary = io.summary(direct)
        assert row["electrolyte.concentration"] == spec.overrides["electrolyte.concentration"]
        for key in ("flow_rate_hat", "mean_velocity_m_s", "flow_rate_per_depth_m2_s"):
            assert row[key] == summary[key], key
        np.testing.assert_array_equal(io.read_run(spec.run_dir)["u"], direct["u"])
        record = json.loads((Path(spec.run_dir) / "run.json").read_text())
        assert record["overrides"] == spec.overrides and record["settings"] == GRID and record["wall_s"] > 0
    # The velocity of the plug grows with the height and the concentration (a thinner layer).
    velocity = {(r["electrolyte.concentration"], r["channel.height"]): r["mean_velocity_m_s"] for r in result.rows}
    assert velocity["1mM", "30nm"] < velocity["1mM", "60nm"] and velocity["1mM", "30nm"] < velocity["10mM", "30nm"]

    with open(out / "sweep.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["run"] for r in table] == [s.name for s in study.runs]
    assert list(table[0])[:6] == ["run", "electrolyte.concentration", "channel.height", "status", "reason", "wall_s"]
    assert float(table[0]["flow_rate_hat"]) == result.rows[0]["flow_rate_hat"]
    payload = json.loads((out / "sweep.json").read_text())
    assert payload["parameters"] == ["electrolyte.concentration", "channel.height"] and len(payload["rows"]) == 4
    pvd = (out / "sweep.pvd").read_text()
    assert all(f'file="{s.name}/fields.vts"' in pvd for s in study.runs)
    assert {p.name for p in (out / "plots").iterdir()} == {"flow_rate_hat.png", "flow_rate_per_depth_m2_s.png",
                                                          "mean_velocity_m_s.png", "conductance_per_depth_S_m.png"}


def test_a_second_sweep_skips_finished_runs_and_reruns_only_the_missing_one(client, tmp_path):
    out = tmp_path / "sweep"
    study = plan_study(STRAIGHT, "exact", out, params=AXES, options=GRID)
    run_study(study, out, client, report=lambda line: None)
    missing = Path(study.runs[2].run_dir)
    (missing / "summary.json").unlink()
    kept = {s.name: _mtimes(Path(s.run_dir)) for s in study.runs if Path(s.run_dir) != missing}
    result = run_study(study, out, client, report=lambda line: None)
    assert [r["status"] for r in result.rows] == ["skipped", "skipped", "finished", "skipped"]
    assert result.complete and (missing / "summary.json").is_file()
    assert {s.name: _mtimes(Path(s.run_dir)) for s in study.runs if Path(s.run_dir) != missing} == kept
    assert result.rows[0]["flow_rate_hat"] > 0  # skipped runs still report their results


def test_a_run_that_fails_on_its_own_is_recorded_and_not_retried(client, tmp_path):
    """FD limited to one Newton step cannot converge: the run is "failed" with the solver's
    reason (no Dask retry), and a later sweep reports it without running it again."""
    out = tmp_path / "sweep"
    study = plan_study(STRAIGHT, "fd", out, params=["channel.height=30nm"], options={"nx": 9, "ny": 40},
                       sets=["fd.max_newton=1", "fd.grid_sequencing=false", "fd.continuation_steps=1"])
    first = run_study(study, out, client, report=lambda line: None)
    (row,) = first.rows
    assert row["status"] == "failed" and row["reason"].startswith("FD Newton did not converge after 1 iterations")
    run_dir = Path(study.runs[0].run_dir)
    assert json.loads((run_dir / "failure.json").read_text())["reason"] == row["reason"]
    before = _mtimes(run_dir)
    (again,) = run_study(study, out, client, report=lambda line: None).rows
    assert again["status"] == "failed"
    assert again["reason"] == f"{row['reason']} (recorded earlier; remove {run_dir} to retry it)"
    assert _mtimes(run_dir) == before


def test_a_directory_holding_another_problem_is_reported_and_left_alone(client, tmp_path):
    out = tmp_path / "sweep"
    run_study(plan_study(STRAIGHT, "exact", out, params=["channel.height=30nm"], options=GRID), out, client,
              report=lambda line: None)
    before = _mtimes(out / "channel.height=30nm")
    other = plan_study(STRAIGHT, "exact", out, params=["channel.height=30nm"], options=GRID, sets=["zeta_hat=-1"])
    (row,) = run_study(other, out, client, report=lambda line: None).rows
    assert row["status"] == "error"
    assert row["reason"].startswith(f"{out.resolve() / 'channel.height=30nm'}: holds a run of another problem or "
                                    "settings (zeta_bottom[0].zeta_hat -1.946")
    assert row["reason"].endswith("; remove it or choose another --out")
    assert _mtimes(out / "channel.height=30nm") == before


def test_cli_sweep_on_an_existing_scheduler_and_a_busy_directory(client, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", STRAIGHT, "--solver", "exact", *sum((["--param", a] for a in AXES), []), "--nx", "5",
            "--ny", "21", "--scheduler", client.scheduler.address, "--out", str(out)]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert f"cluster at {client.scheduler.address}: 2 workers" in captured.err
    assert "dashboard: http://" in captured.err and "[4/4] " in captured.err
    assert captured.out.splitlines()[0].split() == ["run", "status", "wall_s", "mean_velocity_m_s", "flow_rate_hat"]
    assert "wrote " in captured.out and "sweep.csv" in captured.out
    # A second sweep into the same directory while one holds it: refused, naming the holder.
    lock = runs.acquire_lock(out)
    try:
        assert main(args) == 2
    finally:
        os.close(lock)
    assert capsys.readouterr().err.strip() == (f"eofpinn: error: {out}: in use by another eofpinn process "
                                               f"(PID {os.getpid()}); wait for it to finish or choose another --out")


def test_cli_sweep_exits_1_when_a_run_failed(client, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", STRAIGHT, "--param", "channel.height=30nm", "--nx", "9", "--ny", "40", "--set",
                 "fd.max_newton=1", "--set", "fd.grid_sequencing=false", "--set", "fd.continuation_steps=1",
                 "--scheduler", client.scheduler.address, "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "[1/1] channel.height=30nm: failed" in captured.err
    assert "    failed: FD Newton did not converge" in captured.out


def test_cli_sweep_on_a_local_cluster_of_two_worker_processes(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", STRAIGHT, "--solver", "exact", "--param", "electrolyte.concentration=1mM,10mM",
                 "--nx", "5", "--ny", "21", "--jobs", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "local cluster: 2 workers, each running one run at a time with 1 torch thread" in err
    assert "dashboard: http://" in err
    pids = {json.loads((out / f"electrolyte.concentration={c}" / "run.json").read_text())["pid"]
            for c in ("1mM", "10mM")}
    assert os.getpid() not in pids  # the runs ran in worker processes, not in the CLI's


def test_a_sweep_reports_each_warning_of_its_runs_once(tmp_path, capfd):
    """Two worker processes each solve FD on a grid too coarse for the double layer: the warning
    comes back with each run's outcome and is reported once, not printed raw by every worker."""
    out = tmp_path / "sweep"
    assert main(["sweep", STRAIGHT, "--param", "channel.length=60nm,120nm", "--nx", "5", "--ny", "8",
                 "--jobs", "2", "--out", str(out)]) == 0
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if "FD grid too coarse" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: FD grid too coarse for the double layer: "), err


TINY_PINN = """
[case]
name = "tiny"

[channel]
length_ratio = 1.0

[dimensionless]
debye_ratio = 0.2
field = 1.0
peclet = 1.0

[walls]
bottom = 1.0
top = 1.0

[pinn]
steps = {steps}
device = "cpu"
dtype = "float64"
threads = 1

[pinn.network]
width = 8
depth = 1

[pinn.points]
n_interior = 60
n_boundary = 10

[pinn.records]
log_every = 5
checkpoint_every = 10
eval_nx = 8
eval_ny = 16
conflict_diagnostics = false
"""


def _logged_step(run_dir: Path) -> int:
    try:
        lines = (run_dir / "history.csv").read_text().splitlines()
        return int(float(lines[-1].split(",")[0])) if len(lines) > 1 else -1
    except (OSError, ValueError):
        return -1


def test_a_worker_killed_mid_run_is_replaced_and_the_run_resumes_from_its_checkpoint(tmp_path):
    """SIGKILL the worker process training a PINN run: the nanny starts a new worker, the
    scheduler reruns the task, and the run continues from its last checkpoint to the same
    result as an uninterrupted run; the other runs finish normally."""
    case = tmp_path / "tiny.toml"
    case.write_text(TINY_PINN.format(steps=200))
    out = tmp_path / "sweep"
    study = plan_study(str(case), "pinn", out, params=["debye_ratio=0.2,0.25"])
    victim = Path(study.runs[0].run_dir)
    results: list = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        sweep = threading.Thread(target=lambda: results.append(run_study(study, out, client, report=lambda l: None)))
        sweep.start()
        deadline = time.monotonic() + 300
        while _logged_step(victim) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _logged_step(victim) >= 20, "the run never got going"
        key = next(k for keys in client.processing().values() for k in keys if k.endswith(study.runs[0].name))
        worker = next(address for address, keys in client.processing().items() if key in keys)
        pid = client.run(os.getpid, workers=[worker])[worker]
        os.kill(pid, signal.SIGKILL)
        sweep.join(timeout=600)
    (result,) = results
    assert [r["status"] for r in result.rows] == ["finished", "finished"]
    record = json.loads((victim / "run.json").read_text())
    assert len(record["resumed"]) == 1 and result.rows[0]["resumed"] == 1
    resumed = io.read_run(victim)
    assert resumed.info["steps"] == 200
    direct = api.solve(study.runs[0].load(), "pinn", progress=False)
    for name in ("u", "psi", "c_plus"):
        np.testing.assert_allclose(resumed[name], direct[name], rtol=1e-9, atol=1e-12)
