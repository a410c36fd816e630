"""Planning a sweep: axes from --param and study files, the product and zips, run names, and
every bad key, unit or option refused in one line (exit 2) before any worker starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from eofpinn.cases import load_case
from eofpinn.cli import main
from eofpinn.errors import EofpinnError
from eofpinn.studies.plan import parse_param, plan_study, split_values

REPO = Path(__file__).resolve().parents[2]
STRAIGHT = str(REPO / "cases" / "straight_channel.toml")
QUICKSTART = str(REPO / "cases" / "quickstart.toml")


def test_values_split_at_top_level_commas_only():
    assert split_values('0.01mM, 0.1 mM,[[0, 1, -1], [1, 2, -2]],"a, b"') == [
        "0.01mM", "0.1 mM", "[[0, 1, -1], [1, 2, -2]]", '"a, b"']


def test_param_values_keep_their_units_and_dimensionless_names_take_numbers():
    axis = parse_param("electrolyte.concentration=0.01mM,0.1 mM,1e-3 M")
    assert axis.key == "electrolyte.concentration" and axis.values == ("0.01mM", "0.1 mM", "1e-3 M")
    assert parse_param("debye_ratio=0.2,0.1").values == (0.2, 0.1)
    assert parse_param("fd.nx=33,65").values == (33, 65)
    assert parse_param("walls.bottom=[[0, 1, -1], [1, 2, -2]],-1.5").values == ([[0, 1, -1], [1, 2, -2]], -1.5)


def test_the_runs_are_the_product_of_the_params_each_case_loaded_with_its_values(tmp_path):
    study = plan_study(STRAIGHT, "fd", tmp_path, params=["electrolyte.concentration=1mM,10mM",
                                                         "walls.bottom=-25mV,-50mV,-75mV"])
    assert study.keys == ("electrolyte.concentration", "walls.bottom")
    assert len(study.runs) == 6
    first = study.runs[0]
    assert first.name == "electrolyte.concentration=1mM_walls.bottom=-25mV"
    assert first.run_dir == str(tmp_path.resolve() / first.name)
    assert first.overrides == {"electrolyte.concentration": "1mM", "walls.bottom": "-25mV"}
    expected = load_case(STRAIGHT, {"electrolyte.concentration": "1 mM", "walls.bottom": "-25 mV"})
    assert first.load().problem == expected.problem
    assert [r.parameters["walls.bottom"] for r in study.runs] == ["-25mV", "-50mV", "-75mV"] * 2


def test_a_study_file_gives_axes_zips_and_the_cluster(tmp_path):
    grid = tmp_path / "study.toml"
    grid.write_text("""
[axes]
electrolyte.concentration = ["1 mM", "10 mM"]

[[zip]]
"walls.bottom" = ["-25 mV", "-50 mV", "-75 mV"]
"walls.top" = ["-25 mV", "-50 mV", "-75 mV"]

[cluster]
queue = "gpu"
cores = 4
""")
    study = plan_study(STRAIGHT, "exact", tmp_path / "s", grid=grid, params=["channel.height=30nm,60nm"])
    assert study.keys == ("channel.height", "electrolyte.concentration", "walls.bottom", "walls.top")
    assert len(study.runs) == 2 * 2 * 3
    assert {(r.overrides["walls.bottom"], r.overrides["walls.top"]) for r in study.runs} == {
        ("-25 mV", "-25 mV"), ("-50 mV", "-50 mV"), ("-75 mV", "-75 mV")}
    assert study.cluster == {"queue": "gpu", "cores": 4} and study.grid == str(grid)


def test_pinn_sweeps_multiply_the_axes_by_the_method_comparison(tmp_path):
    study = plan_study(QUICKSTART, "pinn", tmp_path, params=["debye_ratio=0.2,0.1"], optimizers="soap,adam",
                       weightings="gn,none", seeds=2, options={"steps": 10})
    assert len(study.runs) == 2 * 2 * 2 * 2
    assert study.runs[0].name == "debye_ratio=0.2_soap_gn_seed0"  # the names the first sweeps used
    assert study.runs[0].options == {"steps": 10, "optimizer": "soap", "weighting": "gn", "seed": 0}
    assert study.runs[0].method == "soap+gn"
    # Without the flags a PINN run uses the case's own method and seed.
    only = plan_study(QUICKSTART, "pinn", tmp_path, params=["pinn.optimizer.learning_rate=1e-3,3e-3"])
    assert [r.name for r in only.runs] == ["pinn.optimizer.learning_rate=0.001_soap_gn_seed0",
                                           "pinn.optimizer.learning_rate=0.003_soap_gn_seed0"]
    assert only.runs[0].settings == {"optimizer.learning_rate": 1e-3}
    assert only.runs[0].load().pinn.optimizer.learning_rate == 1e-3


def error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


HINT = ("a case-file key by its TOML path (e.g. electrolyte.concentration, walls.bottom, channel.height), "
        "a dimensionless parameter (debye_ratio, zeta_hat, field_hat, peclet, pressure_drop_hat, length_ratio) "
        "or a PINN setting (e.g. pinn.optimizer.learning_rate)")


@pytest.mark.parametrize("args,message", [
    (["--param", "viscosity=1,2"], f"--param viscosity: unknown parameter; give {HINT}"),
    (["--param", "electrolyte.concentration=1mM,10kg"],
     '--param: [electrolyte.concentration] expects a concentration (convertible to mol/m^3, e.g. "1 mM"); '
     'got "10kg" (wrong dimension)'),
    (["--param", "electrolyte.concentration=1 parsec"],
     '--param: [electrolyte.concentration] expects a concentration (convertible to mol/m^3, e.g. "1 mM"); '
     'got "1 parsec" (wrong dimension)'),
    (["--param", "electrolyte.concentration=1 blorbs"],
     '--param: [electrolyte.concentration] expects a concentration (convertible to mol/m^3, e.g. "1 mM"); '
     'got "1 blorbs" (unknown unit)'),
    (["--param", "electrolyte.concentration=20 M"], '--param: [electrolyte.concentration] must lie in (0, 10 M]; '
                                                    'got "20 M"'),
    (["--param", "electrolyte.viscosty=1mPa*s"],
     "--param: [electrolyte.viscosty] unknown key; allowed: concentration, valence, diffusivity_plus, "
     "diffusivity_minus, relative_permittivity, temperature, viscosity, density, valence_plus, valence_minus"),
    (["--param", "walls.bottom=-25mV,-2V"],
     "--param: [walls.bottom] zeta must lie in [-513.9 mV, 513.9 mV] (|ζ̂| = |ζ|/V_T ≤ 20, V_T = 25.69 mV); "
     'got "-2V"'),
    (["--param", "walls.bottom=-25"], '--param: [walls.bottom] expects a zeta potential (a voltage, e.g. "-50 mV") '
                                      'or a surface charge density (e.g. "-60 mC/m^2"), written as "number unit"; '
                                      'got -25'),
    (["--param", "flow.rate=1"], "--param: [flow.rate] unknown section [flow]; allowed: case, channel, electrolyte, "
                                 "walls, drive, model, dimensionless, fd, pinn"),
    (["--param", "debye_ratio=0.1,big"], "--param 'debye_ratio=0.1,big': debye_ratio takes numbers (a "
                                         "dimensionless parameter)"),
    (["--param", "electrolyte.concentration"], "--param 'electrolyte.concentration': expected KEY=V1,V2,... "
                                               "(e.g. electrolyte.concentration=0.1mM,1mM or debye_ratio=0.2,0.1)"),
    (["--param", "channel.height=30nm", "--param", "channel.height=60nm"],
     "channel.height: swept twice (in --param or the study file); give each key once"),
    (["--param", "pinn.network.width=8,16"], "--param pinn.network.width: a PINN setting; sweep it with --solver pinn"),
    (["--param", "channel.height=30nm", "--optimizer", "soap,adam"],
     "--optimizer: a PINN option; add --solver pinn (the sweep runs --solver fd)"),
    (["--param", "channel.height=30nm", "--nx", "3"],
     "fd option nx: must lie in [5, 4097]; got 3 (x grid nodes 0 … ℓ; --nx)"),
    (["--solver", "exact", "--param", "walls.bottom=-25mV"],
     "--solver exact: the exact solution needs one uniform zeta on both walls (physics.md §4); this sweep has "
     "runs with a zeta pattern: use --solver fd"),
    (["--param", "channel.height=30nm", "--scheduler", "yarn"],
     "--scheduler 'yarn': expected local, slurm or tcp://HOST:PORT (an existing dask scheduler)"),
    (["--param", "channel.height=30nm", "--queue", "gpu"], "--queue: a Slurm option; use it with --scheduler slurm"),
    (["--param", "channel.height=30nm", "--scheduler", "slurm", "--cores", "4"],
     "--scheduler slurm needs memory, walltime per job: give --memory --walltime or set them in the study "
     "file's [cluster] section"),
    (["--param", "channel.height=30nm", "--scheduler", "slurm", "--cores", "4", "--memory", "lots",
      "--walltime", "1:00:00"], "--memory: 'lots' is not an amount of memory; e.g. \"16GB\""),
])
def test_bad_sweep_input_is_one_line_and_exit_2_before_anything_is_written(tmp_path, capsys, args, message):
    out = tmp_path / "sweep"
    assert main(["sweep", STRAIGHT, *args, "--out", str(out)]) == 2
    assert error_line(capsys) == f"eofpinn: error: {message}"
    assert not out.exists()


def test_a_bad_pinn_option_names_its_flag(tmp_path, capsys):
    assert main(["sweep", QUICKSTART, "--solver", "pinn", "--optimizer", "soap,sgd", "--out", str(tmp_path)]) == 2
    line = error_line(capsys)
    assert line.startswith("eofpinn: error: --optimizer: [pinn.optimizer.name] ") and "'sgd'" in line


@pytest.mark.parametrize("text,message", [
    ('[axes]\n"walls.bottom" = "-25 mV"\n', '[axes.walls.bottom] must be a non-empty list of values, e.g. '
                                            '["0.1 mM", "1 mM"]; got \'-25 mV\''),
    ('[[zip]]\n"walls.bottom" = ["-25 mV", "-50 mV"]\n"walls.top" = ["-25 mV"]\n',
     "[zip[0]] zipped lists must have the same length; walls.bottom has 2, walls.top has 1"),
    ("[axis]\n", "[axis] unknown section; allowed: axes, zip, cluster"),
    ("[axes]\ndebye_ratio = [0.1, 50]\n",
     "[debye_ratio] must lie in [0.0001, 10]; got 50 (the Debye ratio ε = λ_D/H)"),
    ("[cluster]\ncores = 4\nmemory = \"8GB\"\nwalltime = \"1:00:00\"\nqueues = \"x\"\n",
     "[cluster.queues] unknown key; allowed: queue, account, cores, memory, walltime, jobs, gpus, extra"),
])
def test_a_bad_study_file_names_the_file_and_the_key(tmp_path, capsys, text, message):
    grid = tmp_path / "study.toml"
    grid.write_text(text)
    scheduler = ["--scheduler", "slurm"] if "cluster" in text else []
    assert main(["sweep", STRAIGHT, "--grid", str(grid), *scheduler, "--out", str(tmp_path / "s")]) == 2
    assert error_line(capsys) == f"eofpinn: error: {grid}: {message}"


def test_names_that_would_collide_are_refused(tmp_path):
    with pytest.raises(EofpinnError, match="would share the run directory electrolyte.concentration=1mM"):
        plan_study(STRAIGHT, "fd", tmp_path, params=["electrolyte.concentration=1mM,1 mM"])


def test_slurm_without_sbatch_is_refused_before_anything_is_written(tmp_path, capsys, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = tmp_path / "sweep"
    assert main(["sweep", STRAIGHT, "--param", "channel.height=30nm", "--scheduler", "slurm", "--cores", "2",
                 "--memory", "4GB", "--walltime", "00:10:00", "--out", str(out)]) == 2
    assert error_line(capsys) == ("eofpinn: error: --scheduler slurm: sbatch is not on the PATH; run the sweep where "
                                  "Slurm jobs can be submitted (a login node)")
    assert not out.exists()
