"""Every bad command-line input: one line naming the flag, the value and the allowed range,
exit code 2, no traceback."""

import dataclasses
import importlib.metadata
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest

from eofpinn import load_case
from eofpinn.cli import main

REPO = Path(__file__).resolve().parents[2]
STRAIGHT = str(REPO / "cases" / "straight_channel.toml")
QUICKSTART = str(REPO / "cases" / "quickstart.toml")


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("item,message", [
    ("debye_ratio=nan", "--set: [debye_ratio] must lie in [0.0001, 10]; got nan (the Debye ratio ε = λ_D/H)"),
    ("zeta_hat=1e6", "--set: [zeta_hat] must lie in [-20, 20]; got 1000000.0 (the zeta potential ζ̂ = ζ/V_T)"),
    ("length_ratio=0", "--set: [length_ratio] must lie in [0.01, 10000]; got 0.0 (the aspect ratio ℓ = L/H)"),
    ("viscosity=1", "--set: [viscosity] cannot be overridden; allowed: debye_ratio, zeta_hat, field_hat, peclet, "
                    "pressure_drop_hat, length_ratio, or a case-file key by its TOML path (e.g. electrolyte.concentration)"),
    ("electrolyte.concentration=-1mM", '--set: [electrolyte.concentration] must lie in (0, 10 M]; got "-1mM"'),
    ("electrolyte.concentration=10kg", '--set: [electrolyte.concentration] expects a concentration (convertible to '
                                       'mol/m^3, e.g. "1 mM"); got "10kg" (wrong dimension)'),
    ("electrolyte.viscosty=1mPa*s", "--set: [electrolyte.viscosty] unknown key; allowed: concentration, valence, "
                                    "diffusivity_plus, diffusivity_minus, relative_permittivity, temperature, "
                                    "viscosity, density, valence_plus, valence_minus"),
    ("walls.bottom=2", '--set: [walls.bottom] expects a zeta potential (a voltage, e.g. "-50 mV") or a surface '
                       'charge density (e.g. "-60 mC/m^2"), written as "number unit"; got 2'),
    ("electrolyte.concentration=1e-9mM", f"{STRAIGHT}: [channel.height] gives ε = λ_D/H = 1.014e+04, outside "
                                         "[0.0001, 10]: with λ_D = 304.2 µm (from [electrolyte]) H must lie in "
                                         '[30.42 µm, 3.042 m]; got "30 nm" (with --set electrolyte.concentration=1e-9mM)'),
    ("flow.rate=1", "--set: [flow.rate] unknown section [flow]; allowed: case, channel, electrolyte, walls, drive, "
                    "model, dimensionless, fd, pinn"),
])
def test_set_uses_the_case_file_ranges(tmp_path, capsys, item, message):
    assert main(["solve", STRAIGHT, "--set", item, "--out", str(tmp_path / "run")]) == 2
    assert error_line(capsys) == f"eofpinn: error: {message}"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args,message", [
    (["--param", "debye_ratio="], "--param 'debye_ratio=': no values; expected NAME=V1,V2,..., e.g. debye_ratio=0.2,0.1"),
    (["--param", "debye_ratio=0.1,nan"], "--param: [debye_ratio] must lie in [0.0001, 10]; got nan (the Debye ratio ε = λ_D/H)"),
    (["--param", "debye_ratio=0.1", "--solver", "pinn", "--seeds", "0"],
     "--seeds 0: must be at least 1 (the runs use seeds 0 … N−1)"),
    (["--param", "debye_ratio=0.1", "--jobs", "-1"],
     "--jobs -1: must be at least 1 (leave it out for one per GPU or per two cores)"),
])
def test_sweep_refuses_an_empty_or_out_of_range_grid(tmp_path, capsys, args, message):
    assert main(["sweep", QUICKSTART, *args, "--out", str(tmp_path / "sweep")]) == 2
    assert error_line(capsys) == f"eofpinn: error: {message}"
    assert not (tmp_path / "sweep").exists()


def test_an_unresolvable_layer_fails_in_two_lines_not_a_screen_of_numpy_warnings(tmp_path):
    """ε = 1e-4 is accepted (with the thin-layer warning); the Poisson–Boltzmann solve then fails
    with its own message, and the sinh/cosh overflows of its trial iterates stay silent."""
    result = subprocess.run([sys.executable, "-m", "eofpinn.cli", "solve", STRAIGHT, "--solver", "exact",
                             "--set", "debye_ratio=1e-4", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert lines[0].startswith("warning: Debye ratio ε = 0.0001 < 0.005: the double layer is too thin to resolve")
    assert lines[1].startswith("eofpinn: error: Poisson–Boltzmann profile did not converge for ε = 0.0001")
    assert len(lines) == 2, lines


@pytest.mark.parametrize("flags,message", [
    (["--nx", "0"], "eofpinn: error: fd option nx: must lie in [5, 4097]; got 0 (x grid nodes 0 … ℓ; "
                    "--nx or the case's [fd] nx)"),
    (["--nx", "-5"], "eofpinn: error: fd option nx: must lie in [5, 4097]; got -5 (x grid nodes 0 … ℓ; "
                     "--nx or the case's [fd] nx)"),
    (["--ny", "100000"], "eofpinn: error: fd option ny: must lie in [6, 2050]; got 100000 (y grid nodes: both walls "
                         "and ny − 2 cell centres; --ny or the case's [fd] ny)"),
    (["--nx", "abc"], "eofpinn solve: error: argument --nx: invalid int value: 'abc' (see eofpinn solve --help)"),
    (["--steps", "5"], "eofpinn: error: fd option steps: not an option of the fd solver; its options: nx, ny, progress"),
    (["--solver", "exact", "--nx", "1"], "eofpinn: error: exact option nx: must lie in [2, 4097]; got 1 "
                                         "(x grid nodes 0 … ℓ; --nx, default 41)"),
])
def test_solver_flags_are_range_checked(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) if "abc" in flags else nullcontext():
        assert main(["solve", QUICKSTART, *flags, "--out", str(tmp_path / "run")]) == 2
    assert error_line(capsys) == message


def test_default_solver_is_fd_with_progress_on_stderr(tmp_path, capsys):
    assert main(["solve", "quickstart", "--nx", "9", "--ny", "42", "--out", str(tmp_path / "run")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("fd solution of quickstart written to ")
    assert err and all(line.startswith("fd ") for line in err.splitlines())
    assert "[9x42] Newton 1: residual" in err


def test_help_states_the_default_solver(capsys):
    with pytest.raises(SystemExit):
        main(["solve", "--help"])
    assert "default: fd (finite differences, any case); exact: straight channels only" in \
        " ".join(capsys.readouterr().out.split())


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"eofpinn {importlib.metadata.version('eofpinn')}\n"


def test_cases_lists_every_shipped_case_with_its_description(capsys):
    assert main(["cases"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(p.stem for p in (REPO / "cases").glob("*.toml"))
    assert "patterned_zeta           alternating -50/+25 mV patches, 1 mM KCl, 100 nm channel, periodic" in lines


def test_new_writes_a_commented_case_that_loads_and_solves(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "my_channel"]) == 0
    text = (tmp_path / "my_channel.toml").read_text()
    for key in ("length", "height", "concentration", "valence", "bottom", "field", "pressure_drop", "nx",
                "wall_stretch", "tolerance", "grid_sequencing", "equations"):
        line = next(line for line in text.splitlines() if line.startswith(f"{key} = "))
        assert "#" in line and ("required" in line or "default" in line), line
    assert 'height = "30 nm"                # channel height H (walls at y = 0 and y = H); (0, 1 cm]; and ε' in text
    assert main(["solve", "my_channel.toml", "--nx", "9", "--ny", "42", "--out", "run"]) == 0
    assert (tmp_path / "run" / "fields.npz").is_file()
    capsys.readouterr()
    assert main(["new", "my_channel"]) == 2
    assert error_line(capsys) == ("eofpinn: error: my_channel.toml: exists; choose another NAME or remove the file "
                                  "(eofpinn new never overwrites)")


@pytest.mark.parametrize("source", ["patterned_zeta", "quickstart", "zeta_step"])
def test_new_from_a_case_reproduces_its_problem(tmp_path, monkeypatch, source):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "copy", "--from", source]) == 0
    copy, original = load_case("copy.toml"), load_case(source)
    assert copy.name == "copy" and copy.fd == original.fd and copy.electrolyte == original.electrolyte
    assert copy.pinn == original.pinn  # e.g. zeta_step's flux-spread terms travel with the copy
    for field in dataclasses.fields(original.problem):
        ours, theirs = getattr(copy.problem, field.name), getattr(original.problem, field.name)
        if field.name in ("zeta_bottom", "zeta_top"):
            flat = [[value for s in segments for value in dataclasses.astuple(s)] for segments in (ours, theirs)]
            assert flat[0] == pytest.approx(flat[1], rel=1e-9, abs=1e-12), field.name
        else:
            assert ours == (pytest.approx(theirs, rel=1e-9) if isinstance(theirs, float) else theirs), field.name


@pytest.mark.parametrize("name,message", [
    ("", "new '': NAME must be a file name such as my_channel (writes my_channel.toml)"),
    ("nowhere/my_channel", "nowhere: no such directory; create it first or choose another NAME"),
])
def test_new_refuses_a_name_it_cannot_write(tmp_path, capsys, monkeypatch, name, message):
    monkeypatch.chdir(tmp_path)
    assert main(["new", name]) == 2
    assert error_line(capsys) == f"eofpinn: error: {message}"


def test_a_library_deprecation_notice_is_not_shown_but_eofpinn_warnings_are_once_each():
    """The CLI shows each distinct warning of a command as one line, once (a sweep's runs of one
    salt), but not the DeprecationWarnings that libraries raise on import (torch.compile's first
    call raised 14 before every compiled run).
    In a subprocess: pytest records the warnings of its own process."""
    script = (
        "import sys, warnings\n"
        "import eofpinn.cli as cli\n"
        "def command(_args):\n"
        "    warnings.warn('`torch.jit.script_method` is deprecated', DeprecationWarning)\n"
        "    for salt in ('3:1', '3:1', '3:2'):  # a sweep's runs\n"
        "        warnings.warn(f'the PINN is not validated for a {salt} salt')\n"
        "    return 0\n"
        "parser = cli.build_parser()\n"
        "parser.parse_args = lambda argv: type('Args', (), {'run': staticmethod(command)})()\n"
        "cli.build_parser = lambda: parser\n"
        "sys.exit(cli.main(['cases']))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stderr == ("warning: the PINN is not validated for a 3:1 salt\n"
                             "warning: the PINN is not validated for a 3:2 salt\n")


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_closed_pipe_ends_the_command_quietly(unbuffered):
    """`eofpinn cases | head -1`: the reader leaves before the listing is written. The command
    stops with a shell's SIGPIPE status (141) and writes nothing to stderr — no traceback from the
    print, none from the interpreter's last flush (buffered stdout meets the pipe only there)."""
    import os

    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    process = subprocess.Popen([sys.executable, "-m", "eofpinn.cli", "cases"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    process.stdout.close()  # the reader is gone before the command writes
    stderr = process.stderr.read().decode()
    assert (process.wait(), stderr) == (141, "")


def test_a_broken_pipe_elsewhere_is_not_taken_for_a_closed_output(monkeypatch):
    """A BrokenPipeError from something other than our standard output (a worker's pipe) is an
    error to show, not a reader that left: it propagates."""
    def broken(_args):
        raise BrokenPipeError("a worker's pipe")

    monkeypatch.setattr("eofpinn.cli.build_parser", lambda: _Parser(broken))
    with pytest.raises(BrokenPipeError, match="a worker's pipe"):
        main([])


class _Parser:
    """A parser whose every command line runs `run`."""

    def __init__(self, run):
        self.run = run

    def parse_args(self, argv):
        import argparse

        return argparse.Namespace(run=self.run)
