"""Run directories (eofpinn.runs): run.json, the lock, --out and --resume refusals, validate's
problem check, and SIGINT/SIGTERM — each refusal one line, exit 2, nothing deleted or rewritten."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import torch

from eofpinn import io, runs
from eofpinn.cases import load_case
from eofpinn.cli import main
from eofpinn.solution import trapezoid_weights

REPO = Path(__file__).resolve().parents[2]
STRAIGHT = REPO / "cases" / "straight_channel.toml"
EXACT_GRID = ["--nx", "5", "--ny", "31"]

TINY_CASE = """
[case]
name = "tiny"
description = "a straight channel and a tiny PINN, for run-directory tests"

[channel]
length_ratio = 1.0
ends = "periodic"

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
checkpoint_every = 1000
eval_nx = 8
eval_ny = 16
conflict_diagnostics = false
"""


@pytest.fixture
def tiny_case(tmp_path) -> Path:
    """A dimensionless straight channel with a PINN small enough for ~50 steps per second."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_CASE.format(steps=20))
    return path


@pytest.fixture
def endless_case(tmp_path) -> Path:
    """The tiny case with more steps than any test waits for: it runs until a signal stops it."""
    path = tmp_path / "endless.toml"
    path.write_text(TINY_CASE.format(steps=1_000_000))
    return path


def _state(folder: Path) -> dict[str, str]:
    """Every file below `folder` with a hash of its bytes: 'nothing changed' is this staying equal."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _solve(*args: str) -> int:
    return main(["solve", *map(str, args)])


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.rstrip("\n")


# ---------------------------------------------------------------------------- run.json
def test_run_json_records_the_case_problem_settings_and_version(tmp_path):
    out = tmp_path / "run"
    assert _solve(STRAIGHT, "--solver", "exact", "--out", out, *EXACT_GRID, "--set", "zeta_hat=-1.5") == 0
    record = json.loads((out / "run.json").read_text())
    problem = json.loads(json.dumps(dataclasses.asdict(load_case(STRAIGHT).problem)))
    for wall in ("zeta_bottom", "zeta_top"):
        problem[wall][0]["zeta_hat"] = -1.5
    assert record["solver"] == "exact" and record["case"] == "straight_channel"
    assert record["case_source"] == str(STRAIGHT.resolve())
    assert record["overrides"] == {"zeta_hat": -1.5}
    assert record["problem"] == problem and set(problem) == {f.name for f in dataclasses.fields(runs.Problem)}
    assert record["problem_fingerprint"] == runs.fingerprint(problem)
    assert record["settings"] == {"nx": 5, "ny": 31}
    assert record["settings_fingerprint"] == runs.fingerprint({"nx": 5, "ny": 31})
    assert record["eofpinn_version"] == metadata.version("eofpinn")
    started = datetime.datetime.fromisoformat(record["started"])
    assert abs((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()) < 600


def test_a_pinn_run_recorded_before_a_setting_existed_is_the_same_run_at_its_default(tmp_path):
    """A sweep must not take its own finished runs for another study's because run.json predates
    a [pinn] key (one added at its default, which is what the run ran with); another value of
    that key is still a different run."""
    case = load_case(STRAIGHT)
    settings = runs.solver_settings(case, "pinn", {})
    older = json.loads(json.dumps(settings))
    del older["points"]["transition_fraction"]
    (tmp_path / "run.json").write_text(json.dumps(runs.new_record("pinn", case, older, {})))
    assert runs.run_differences(tmp_path, "pinn", case, settings) == []
    settings["points"]["transition_fraction"] = 0.3
    assert runs.run_differences(tmp_path, "pinn", case, settings) == [
        "points.transition_fraction 0.0 in the run, 0.3 in this sweep"]


def test_an_auto_output_grid_is_the_same_run_as_its_fifty_nodes_only_where_the_walls_are_uniform(tmp_path):
    """records.eval_nx = 0 writes a straight channel's fields on 50 uniform x nodes, as runs
    recorded with eval_nx = 50 before "auto" existed did: the same run. On a ζ̂ step it writes
    them on the FD grid's x nodes, so such an older run is a different one."""
    for case, same in ((load_case(STRAIGHT), True), (load_case("zeta_step"), False)):
        settings = runs.solver_settings(case, "pinn", {})
        assert settings["records"]["eval_nx"] == 0
        older = json.loads(json.dumps(settings))
        older["records"]["eval_nx"] = 50
        (tmp_path / "run.json").write_text(json.dumps(runs.new_record("pinn", case, older, {})))
        expected = [] if same else ["records.eval_nx 50 in the run, 0 in this sweep"]
        assert runs.run_differences(tmp_path, "pinn", case, settings) == expected


def test_a_case_key_set_by_its_toml_path_is_recorded_and_read_back(tmp_path):
    """--set electrolyte.concentration=1mM edits the case document (validated like the file);
    run.json and summary.json record it, so read_run rebuilds the same case from case.toml."""
    out = tmp_path / "run"
    assert _solve(STRAIGHT, "--solver", "exact", "--out", out, *EXACT_GRID, "--set", "electrolyte.concentration=1mM",
                  "--set", "walls.top=-50 mV") == 0
    expected = load_case(STRAIGHT, {"electrolyte.concentration": "1mM"})
    assert expected.problem.debye_ratio == pytest.approx(10 ** 0.5 * load_case(STRAIGHT).problem.debye_ratio)
    record = json.loads((out / "run.json").read_text())
    assert record["overrides"] == {"electrolyte.concentration": "1mM", "walls.top": "-50 mV"}
    assert runs.problem_differences(runs.problem_from_record(record["problem"]), expected.problem, "a", "b") == []
    from eofpinn import read_run

    assert read_run(out).case.problem == expected.problem
    assert main(["validate", str(out)]) == 0


def test_fingerprints_differ_between_problems_and_comparisons_tolerate_rounding():
    problem = load_case(STRAIGHT).problem
    nudged = dataclasses.replace(problem, debye_ratio=problem.debye_ratio * (1 + 1e-12))
    other = dataclasses.replace(problem, debye_ratio=problem.debye_ratio * (1 + 1e-6))
    assert runs.problem_differences(problem, nudged, "a", "b") == []
    assert runs.problem_differences(problem, other, "a", "b") == [
        f"debye_ratio {problem.debye_ratio} in a, {other.debye_ratio} in b"]
    assert runs.fingerprint(dataclasses.asdict(problem)) != runs.fingerprint(dataclasses.asdict(other))


# ---------------------------------------------------------------------------- --out
def test_out_naming_a_file_is_refused_in_one_line(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    assert _solve(STRAIGHT, "--out", target) == 2
    assert _one_line(capsys) == f"eofpinn: error: {target}: --out names a file, not a directory; choose a directory path"
    assert _solve(STRAIGHT, "--out", target / "run") == 2
    assert _one_line(capsys) == (f"eofpinn: error: {target / 'run'}: cannot create the run directory (Not a directory); "
                                 "choose another --out")
    assert target.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_out_in_a_read_only_place_is_refused_in_one_line(tmp_path, capsys):
    locked = tmp_path / "readonly"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert _solve(STRAIGHT, "--out", locked / "run") == 2
        assert _one_line(capsys) == (f"eofpinn: error: {locked / 'run'}: cannot create the run directory "
                                     "(Permission denied); choose another --out")
        assert _solve(STRAIGHT, "--out", locked, "--force") == 2
        assert _one_line(capsys) == (f"eofpinn: error: {locked}: cannot write in this directory (Permission denied); "
                                     "choose another --out")
    finally:
        locked.chmod(0o755)


def test_out_is_required_without_resume(capsys):
    assert _solve(STRAIGHT) == 2
    assert _one_line(capsys) == ("eofpinn: error: --out DIR is required: the run directory to write "
                                 "(or --resume DIR to continue a PINN run)")


def test_a_directory_holding_only_bookkeeping_is_reused(tmp_path):
    """A solve killed before writing anything leaves run.json and the lock: the next one may start there."""
    out = tmp_path / "run"
    out.mkdir()
    (out / runs.RECORD).write_text("{}")
    (out / runs.LOCK).write_text("12345\n")
    assert _solve(STRAIGHT, "--solver", "exact", "--out", out, *EXACT_GRID) == 0
    assert json.loads((out / runs.RECORD).read_text())["solver"] == "exact"


# ---------------------------------------------------------------------------- --resume
def test_resume_on_an_exact_run_is_refused_and_deletes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert _solve(STRAIGHT, "--solver", "exact", "--out", out, *EXACT_GRID) == 0
    capsys.readouterr()
    before = _state(out)
    assert _solve(STRAIGHT, "--solver", "pinn", "--resume", out, "--out", out) == 2
    assert _one_line(capsys) == (f"eofpinn: error: {out}: holds a --solver exact run, not a PINN run; "
                                 "--resume continues PINN runs only")
    assert _solve(STRAIGHT, "--solver", "exact", "--resume", out) == 2
    assert _one_line(capsys) == (f"eofpinn: error: --resume {out}: --resume continues PINN runs only, not a --solver "
                                 "exact solve; drop --resume to start a new run")
    assert _solve(STRAIGHT, "--solver", "fd", "--resume", out, "--force") == 2
    assert _one_line(capsys).startswith(f"eofpinn: error: --resume {out}: --resume continues PINN runs only")
    assert _state(out) == before
    (out / "run.json").unlink()  # a run from before run.json: its summary.json names the solver
    assert _solve(STRAIGHT, "--solver", "pinn", "--resume", out, "--force") == 2
    assert _one_line(capsys) == (f"eofpinn: error: {out}: holds a --solver exact run, not a PINN run; "
                                 "--resume continues PINN runs only")
    assert {name: digest for name, digest in _state(out).items() if name != "run.json"} == {
        name: digest for name, digest in before.items() if name != "run.json"}


def test_resume_without_a_checkpoint_is_refused(tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    assert _solve(STRAIGHT, "--solver", "pinn", "--resume", out) == 2
    assert _one_line(capsys) == (f"eofpinn: error: {out}: no checkpoint to resume (checkpoint.pt missing); "
                                 "start a new run with --out")
    assert _solve(STRAIGHT, "--solver", "pinn", "--resume", tmp_path / "nowhere") == 2
    assert _one_line(capsys) == f"eofpinn: error: {tmp_path / 'nowhere'}: no such run directory to resume"


def test_resume_checks_out_problem_and_finished_runs_then_continues(tiny_case, tmp_path, capsys):
    out = tmp_path / "run"
    assert _solve(tiny_case, "--solver", "pinn", "--out", out, "--set", "debye_ratio=0.25") == 0
    capsys.readouterr()
    before = _state(out)
    assert _solve(tiny_case, "--solver", "pinn", "--resume", out, "--out", tmp_path / "elsewhere") == 2
    assert _one_line(capsys) == (f"eofpinn: error: --out {tmp_path / 'elsewhere'} is not --resume {out}: a resumed run "
                                 "continues in its own directory; drop --out")
    assert not (tmp_path / "elsewhere").exists()
    # Another problem: today's case file says ε = 0.2, the run solved ε = 0.25.
    assert _solve(tiny_case, "--solver", "pinn", "--resume", out, "--force", "--steps", "30") == 2
    assert _one_line(capsys) == (f"eofpinn: error: {out}: cannot resume a run of another problem (debye_ratio 0.25 "
                                 "in the run, 0.2 in this case); resume with the run's case and --set values, or start "
                                 "a new run with --out")
    # The same problem, but the run finished: continuing rewrites its results, so --force is needed.
    same = ["--solver", "pinn", "--resume", out, "--set", "debye_ratio=0.25", "--steps", "30"]
    assert _solve(tiny_case, *same) == 2
    assert _one_line(capsys) == (f"eofpinn: error: {out}: holds a finished run; resuming rewrites its results: pass "
                                 "--force to continue it (e.g. with more --steps), or copy the directory first")
    assert _state(out) == before
    assert _solve(tiny_case, *same, "--force") == 0
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 30
    record = json.loads((out / "run.json").read_text())
    assert record["overrides"] == {"debye_ratio": 0.25} and len(record["resumed"]) == 1
    assert record["resumed"][0]["settings"]["steps"] == 30


def test_resume_of_a_run_from_before_run_json_compares_its_case_file(tiny_case, tmp_path, capsys):
    out = tmp_path / "run"
    assert _solve(tiny_case, "--solver", "pinn", "--out", out, "--set", "zeta_hat=2") == 0
    (out / "run.json").unlink()
    capsys.readouterr()
    assert _solve(tiny_case, "--solver", "pinn", "--resume", out, "--force", "--steps", "30") == 2
    assert _one_line(capsys).startswith(f"eofpinn: error: {out}: cannot resume a run of another problem "
                                        "(zeta_bottom[0].zeta_hat 2.0 in the run, 1.0 in this case; "
                                        "zeta_top[0].zeta_hat 2.0 in the run, 1.0 in this case)")


# ---------------------------------------------------------------------------- validate
def test_validate_refuses_runs_of_different_problems(tiny_case, tmp_path, capsys):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert _solve(tiny_case, "--solver", "exact", "--out", a, *EXACT_GRID) == 0
    assert _solve(tiny_case, "--solver", "exact", "--out", b, *EXACT_GRID, "--set", "debye_ratio=0.1") == 0
    assert _solve(tiny_case, "--solver", "exact", "--out", c, "--nx", "7", "--ny", "41") == 0
    for name in ("run.json", runs.LOCK):  # b as a run written before run.json existed
        (b / name).unlink()
    capsys.readouterr()
    assert main(["validate", str(a), "--reference", str(b)]) == 2
    assert _one_line(capsys) == (f"eofpinn: error: {a} and {b} are runs of different problems (debye_ratio 0.2 in {a}, "
                                 f"0.1 in {b}); validate against a run of the same case and --set values")
    assert not (a / "validation.json").exists()
    assert main(["validate", str(a), "--reference", str(c)]) == 0
    # The header names the reference and its grid: its discretisation error is part of every figure.
    assert capsys.readouterr().out.splitlines()[0] == f"{tiny_case.stem}: exact vs exact on 7 × 41 nodes"


# ---------------------------------------------------------------------------- eofpinn ensemble
@pytest.fixture
def seeds(tiny_case, tmp_path) -> list[Path]:
    """Two finished tiny PINN runs that differ only in their seed."""
    dirs = [tmp_path / f"seed{s}" for s in (0, 1)]
    for seed, out in enumerate(dirs):
        assert _solve(tiny_case, "--solver", "pinn", "--seed", seed, "--out", out) == 0
    return dirs


def test_an_ensemble_is_the_mean_of_its_seeds_with_their_spread(seeds, tmp_path, capsys):
    out = tmp_path / "mean"
    assert main(["ensemble", *map(str, seeds), "--out", str(out)]) == 0
    a, b = (np.load(d / "fields.npz") for d in seeds)
    mean, spread = np.load(out / "fields.npz"), np.load(out / "ensemble_spread.npz")
    weights = trapezoid_weights(a["x"], a["y"])
    report = json.loads((out / "ensemble.json").read_text())
    assert report["seeds"] == [0, 1] and report["members"] == [str(d.resolve()) for d in seeds]
    for name in ("phi", "psi", "c_plus", "c_minus", "u", "v", "p"):
        np.testing.assert_allclose(mean[name], 0.5 * (a[name] + b[name]), rtol=1e-15, atol=1e-15)
        deviation = np.abs(a[name] - b[name]) / np.sqrt(2.0)  # the sample std of two values
        np.testing.assert_allclose(spread[name], deviation, rtol=1e-12, atol=1e-15)
        norm = np.sqrt(np.sum(weights * mean[name] ** 2))
        if name == "v":  # a straight channel's v is the networks' noise: measured against the mean speed
            speed = np.sqrt(np.sum(weights * (mean["u"] ** 2 + mean["v"] ** 2)))
            assert norm < 1e-2 * speed  # 1.7e-3 and 2.5e-3 measured (one and two threads), above
            norm = speed                # VANISHING_VELOCITY: the straight channel, not the threshold, decides
        expected = np.sqrt(np.sum(weights * deviation**2)) / norm
        assert report["spread"][name] == pytest.approx(expected, rel=1e-12) and expected > 0
        assert report["standard_error"][name] == pytest.approx(expected / np.sqrt(2.0), rel=1e-12)
    assert json.loads((out / "summary.json").read_text())["solver"] == "pinn-ensemble"
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0  # a run directory like any other
    assert "tiny: pinn-ensemble vs exact" in capsys.readouterr().out


def test_an_open_circuit_ensemble_averages_the_field_its_seeds_found(tmp_path):
    """At open circuit each seed finds its own Ê (a trainable unknown): the members are still runs
    of one problem, and the mean run carries the mean Ê, which `read_run` and validate use."""
    tiny = ["--steps", "5", "--set", "pinn.network.width=8", "--set", "pinn.network.depth=1",
            "--set", "pinn.points.n_interior=60", "--set", "pinn.points.n_boundary=10", "--set", "pinn.dtype=float64",
            "--set", "pinn.records.eval_nx=8", "--set", "pinn.records.eval_ny=16",
            "--set", "pinn.records.conflict_diagnostics=false"]
    members = [tmp_path / f"seed{s}" for s in (0, 1)]
    for seed, out in enumerate(members):
        assert _solve("streaming_potential", "--solver", "pinn", "--seed", seed, "--out", out, *tiny) == 0
    found = [json.loads((d / "summary.json").read_text())["info"]["open_circuit_field_hat"] for d in members]
    assert found[0] != found[1]
    assert main(["ensemble", *map(str, members), "--out", str(tmp_path / "mean")]) == 0
    mean = io.read_run(tmp_path / "mean")
    assert mean.case.problem.open_circuit and mean.case.problem.field_hat == pytest.approx(np.mean(found), rel=1e-15)
    report = json.loads((tmp_path / "mean" / "ensemble.json").read_text())
    assert report["spread"]["field_hat"] == pytest.approx(abs(found[0] - found[1]) / np.sqrt(2) / abs(np.mean(found)))


def test_an_ensemble_refuses_what_is_not_seeds_of_one_recipe_and_writes_nothing(seeds, tiny_case, tmp_path, capsys):
    twin, longer, exact, out = tmp_path / "twin", tmp_path / "longer", tmp_path / "exact", tmp_path / "mean"
    assert _solve(tiny_case, "--solver", "pinn", "--seed", 0, "--out", twin) == 0
    assert _solve(tiny_case, "--solver", "pinn", "--seed", 2, "--steps", 10, "--out", longer) == 0
    assert _solve(tiny_case, "--solver", "exact", "--out", exact, *EXACT_GRID) == 0
    thinner = tmp_path / "thinner"
    assert _solve(tiny_case, "--solver", "pinn", "--seed", 3, "--out", thinner, "--set", "debye_ratio=0.25") == 0
    clustered = tmp_path / "clustered"  # the same node counts, its y nodes clustered by another tanh map
    assert _solve(tiny_case, "--solver", "pinn", "--seed", 4, "--out", clustered, "--set", "fd.wall_stretch=2") == 0
    unfinished, unrecorded = tmp_path / "unfinished", tmp_path / "unrecorded"
    unfinished.mkdir()
    shutil.copytree(longer, unrecorded)
    (unrecorded / "run.json").unlink()  # a run from before run.json
    first = seeds[0]
    refusals = {
        (first, first): "ensemble needs at least two different run directories (the seeds of one case)",
        (first, twin): f"{twin} and {first} have the same seed 0: the same run twice, not two draws; "
                       "give each member its own --seed",
        (first, longer): f"{longer} and {first} differ in [pinn] settings other than the seed "
                         f"(steps 10 in {longer}, 20 in {first}); an ensemble averages seeds of one recipe",
        (first, thinner): f"{thinner} and {first} are runs of different problems (debye_ratio 0.25 in {thinner}, "
                          f"0.2 in {first}); an ensemble averages seeds of one case",
        (first, clustered): f"{clustered} and {first} wrote their fields on different grids (as many nodes, placed "
                            "differently: the [fd] grid differs, or one was written before the output y nodes were "
                            "clustered at the walls (2026-12-06)); run the members with the same [pinn.records] "
                            "eval_nx, eval_ny and [fd] section",
        (first, exact): f"{exact}: solver exact, not pinn; eofpinn ensemble combines PINN runs "
                        "(eofpinn solve CASE --solver pinn --seed S) that differ only in their seed",
        (first, unfinished): f"{unfinished}: not a finished run (no summary.json); finish it "
                             "(eofpinn solve … --out DIR --resume) or leave it out of the ensemble",
        (first, tmp_path / "nowhere"): f"{tmp_path / 'nowhere'}: no such run directory",
        (first, unrecorded): f"{unrecorded}: no run.json (a run from before eofpinn recorded its settings), so "
                             "its recipe and seed cannot be checked; rerun it to use it in an ensemble",
    }
    capsys.readouterr()
    for members, message in refusals.items():
        assert main(["ensemble", *map(str, members), "--out", str(out)]) == 2
        assert _one_line(capsys) == f"eofpinn: error: {message}"
        assert not out.exists()
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["ensemble", *map(str, seeds), "--out", str(out)]) == 2
    assert _one_line(capsys) == (f"eofpinn: error: {out}: exists and is not an empty directory; choose another "
                                 "--out (eofpinn ensemble never overwrites)")
    assert _state(out) == {"notes.txt": hashlib.sha256(b"mine").hexdigest()}


# ---------------------------------------------------------------------------- the lock
HOLD_LOCK = """
import sys
from pathlib import Path
from eofpinn.runs import acquire_lock
acquire_lock(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def _locked_by_another_process(folder: Path):
    """A child process holding `folder`'s run lock for the `with` block; yields its PID."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        yield holder.pid
    finally:
        holder.kill()  # the kernel releases a dead process's lock
        holder.wait()


def _in_use(folder: Path, pid: int) -> str:
    return (f"eofpinn: error: {folder}: in use by another eofpinn process (PID {pid}); "
            "wait for it to finish or choose another --out")


def test_a_locked_directory_is_refused_with_the_holders_pid_and_left_unchanged(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    with _locked_by_another_process(out) as pid:
        before = _state(out)
        for extra in ([], ["--force"]):
            assert _solve(STRAIGHT, "--solver", "exact", "--out", out, *EXACT_GRID, *extra) == 2
            assert _one_line(capsys) == _in_use(out, pid)
        assert _state(out) == before
    assert _solve(STRAIGHT, "--solver", "exact", "--out", out, *EXACT_GRID, "--force") == 0


def test_an_ensemble_into_a_locked_directory_is_refused_and_takes_it_once_released(seeds, tmp_path, capsys):
    """`eofpinn ensemble --out DIR` respects the lock of another eofpinn process (a solve, or
    another ensemble, writing there) and holds it while it writes; the lock file a finished
    process leaves behind does not count as contents."""
    out = tmp_path / "mean"
    out.mkdir()
    with _locked_by_another_process(out) as pid:
        before = _state(out)
        capsys.readouterr()
        assert main(["ensemble", *map(str, seeds), "--out", str(out)]) == 2
        assert _one_line(capsys) == _in_use(out, pid)
        assert _state(out) == before
    assert main(["ensemble", *map(str, seeds), "--out", str(out)]) == 0
    assert (out / "summary.json").is_file() and (out / "ensemble.json").is_file()
    assert main(["ensemble", *map(str, seeds), "--out", str(out)]) == 2  # now it holds a result
    assert _one_line(capsys).endswith("exists and is not an empty directory; choose another --out "
                                      "(eofpinn ensemble never overwrites)")


# ---------------------------------------------------------------------------- SIGINT / SIGTERM
def test_stop_signals_ask_a_polled_solver_first_and_interrupt_the_others():
    with runs.StopSignals(polled=True) as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        assert signals.stop.is_set() and signals.received == "SIGTERM"  # no exception: the trainer polls
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # a second signal does not wait
    with runs.StopSignals(polled=False) as signals:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def _cli(*args) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "eofpinn.cli", "solve", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _history(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "history.csv") as handle:
        return [{k: v for k, v in row.items() if k.startswith("loss")} | {"step": row["step"]}
                for row in csv.DictReader(handle)]


def test_a_resume_that_moves_the_tail_average_before_its_checkpoint_says_so(tmp_path):
    """The tail average is the last tenth of the steps: resuming a 20-step run to 21 steps puts its
    start (after step 19) before the checkpoint (step 20), whose earlier iterates are gone, so the
    mean covers step 21 alone and the run says so; extended far enough, it is silent."""
    case = tmp_path / "tiny.toml"
    case.write_text(TINY_CASE.format(steps=20))
    out = tmp_path / "run"
    message = ("the tail average of 21 steps ([pinn.optimizer] average_last) starts after step 19, before this "
               "checkpoint (step 20), whose iterates were not kept: it averages steps 21–21 only")
    with warnings.catch_warnings(record=True) as caught:
        assert _solve(case, "--solver", "pinn", "--out", out) == 0
        assert _solve(case, "--solver", "pinn", "--resume", out, "--steps", 21, "--force") == 0
        assert _solve(case, "--solver", "pinn", "--resume", out, "--steps", 60, "--force") == 0
    assert [str(w.message) for w in caught if "tail average" in str(w.message)] == [message]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_a_pinn_solve_with_a_checkpoint_and_resume_continues_it(endless_case, tmp_path, capsys,
                                                                            signum):
    out = tmp_path / "run"
    process = _cli(endless_case, "--solver", "pinn", "--out", out)
    _wait_for(out / "history.csv", process)
    time.sleep(0.3)  # some steps past the first log
    # A second writer meanwhile is refused with the running solve's PID, and changes nothing.
    assert _solve(endless_case, "--solver", "exact", "--out", out, "--force", *EXACT_GRID) == 2
    assert _one_line(capsys) == (f"eofpinn: error: {out}: in use by another eofpinn process (PID {process.pid}); "
                                 "wait for it to finish or choose another --out")
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    step = torch.load(out / "checkpoint.pt", weights_only=False)["step"]
    assert step > 0 and "Traceback" not in err
    assert err.splitlines()[-1] == (f"eofpinn: error: interrupted at step {step}; checkpoint written; resume with: "
                                    f"eofpinn solve {endless_case} --solver pinn --resume {out}")
    assert not (out / "summary.json").exists() and not [p for p in out.iterdir() if p.name.startswith(".checkpoint")]

    # Resume to 2·step + 7: the step count continues, and the loss curve is the uninterrupted one.
    # (The tail average, the last tenth of the steps, starts after the checkpoint then however
    # far the run got before the signal; one that started before it averages fewer iterates than
    # the uninterrupted run: test_a_resume_that_moves_the_tail_average_before_its_checkpoint_says_so.)
    end = 2 * step + 7
    assert _solve(endless_case, "--solver", "pinn", "--resume", out, "--steps", end) == 0
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == end
    assert json.loads((out / "summary.json").read_text())["info"]["steps"] == end
    straight = tmp_path / "straight"
    assert _solve(endless_case, "--solver", "pinn", "--out", straight, "--steps", end) == 0
    assert _history(out) == _history(straight)
    assert int(_history(out)[-1]["step"]) == end


# Run in a fresh interpreter (this one has torch loaded): no C++ extension (torch, VTK) may be
# imported while the stop handlers are in.
_IMPORTS_UNDER_HANDLERS = '''
import sys
from eofpinn import cli, runs
enter, leave = runs.StopSignals.__enter__, runs.StopSignals.__exit__
def checked_enter(self):
    self.modules = set(sys.modules)
    return enter(self)
def checked_exit(self, *exc_info):
    late = sorted(m for m in set(sys.modules) - self.modules if m.split(".")[0] in ("torch", "vtkmodules", "pyvista"))
    assert not late, f"imported while the stop handlers were in: {late[:5]}"
    return leave(self, *exc_info)
runs.StopSignals.__enter__, runs.StopSignals.__exit__ = checked_enter, checked_exit
sys.exit(cli.main(sys.argv[1:]))
'''


@pytest.mark.parametrize("solver", ["fd", "exact"])
def test_the_solver_and_the_vtk_writer_are_imported_before_the_stop_handlers(tmp_path, solver):
    # A KeyboardInterrupt raised while torch's C++ module initialisation runs aborts the process
    # (a fresh-clone CI run saw -2 instead of 130 when the FD solver imported torch after run.json).
    args = ["solve", str(STRAIGHT), "--solver", solver, "--out", str(tmp_path / "run"), "--nx", "9", "--ny", "17"]
    done = subprocess.run([sys.executable, "-c", _IMPORTS_UNDER_HANDLERS, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_sigint_stops_an_fd_solve_with_nothing_half_written(tmp_path):
    out = tmp_path / "run"
    process = _cli(REPO / "cases" / "patterned_zeta.toml", "--solver", "fd", "--out", out, "--nx", "257", "--ny", "322")
    _wait_for(out / "run.json", process)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (f"eofpinn: error: interrupted by SIGINT; the fd solve did not finish and {out} "
                                    "holds no complete run; start it again")
    assert sorted(p.name for p in out.iterdir()) == [runs.LOCK, "run.json"]


def test_a_pinn_solve_ends_with_its_balances(tiny_case, tmp_path, capsys):
    """After the observables, a PINN solve prints the balances `eofpinn validate` reports, in one
    line, naming the spreads over 1e-2 (a 20-step tiny run has at least one)."""
    from eofpinn.validation.compare import balances

    out = tmp_path / "run"
    capsys.readouterr()
    assert _solve(tiny_case, "--solver", "pinn", "--out", out) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    found = balances(io.read_run(out))
    spreads = {"c₊": found["ion_flux_spread_c_plus"], "c₋": found["ion_flux_spread_c_minus"],
               "volume": found["volume_flux_spread"]}
    over = ", ".join(name for name, value in spreads.items() if value > 1e-2)
    assert over
    assert last == (f"  balances: ion-flux spread c₊ {spreads['c₊']:.1e}, c₋ {spreads['c₋']:.1e}, volume-flux spread "
                    f"{spreads['volume']:.1e}, charge {found['charge_balance']:.1e} ({over} over 1e-02; "
                    "`eofpinn validate` plots where)")
