"""The public API: `from eofpinn import load_case, solve, write`, one `solve` for every solver."""

import importlib.metadata
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import eofpinn
from eofpinn import Solution, load_case, solve, write
from eofpinn.errors import CaseError, OptionError
from eofpinn.solvers.exact import solve_exact


def test_public_names_and_version():
    assert set(eofpinn.__all__) >= {"load_case", "solve", "write", "Solution", "read_run", "Case", "__version__"}
    assert eofpinn.__version__ == importlib.metadata.version("eofpinn")


def test_import_eofpinn_does_not_import_torch():
    code = "import sys, eofpinn; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_solve_defaults_to_fd_and_accepts_a_shipped_name():
    solution = solve("quickstart", nx=9, ny=42)
    assert isinstance(solution, Solution) and solution.solver == "fd"
    assert solution["u"].shape == (9, 42) and solution.info["grid"] == (9, 42)


def test_exact_through_solve_is_solve_exact(tmp_path):
    case = load_case("straight_channel")
    ours, direct = solve(case, "exact", nx=5, ny=31), solve_exact(case, nx=5, ny=31)
    np.testing.assert_array_equal(ours["u"], direct["u"])
    assert write(ours, tmp_path / "u.npz").is_file()


@pytest.mark.parametrize("solver,options,message", [
    ("fem", {}, "solver: 'fem' is not a solver; choose one of fd, exact, pinn"),
    ("fd", {"steps": 10}, "fd option steps: not an option of the fd solver; its options: nx, ny, progress"),
    ("exact", {"progress": print}, "exact option progress: not an option of the exact solver; its options: nx, ny"),
    ("pinn", {"nx": 9}, "pinn option nx: not an option of the pinn solver; its options: reference, resume, out_dir, "
                        "progress and any [pinn] setting"),
    ("fd", {"nx": 0}, "fd option nx: must lie in [5, 4097]; got 0 (x grid nodes 0 … ℓ; --nx or the case's [fd] nx)"),
    ("fd", {"ny": 9.5}, "fd option ny: must be an integer in [6, 2050]; got 9.5 (y grid nodes: both walls and ny − 2 "
                        "cell centres; --ny or the case's [fd] ny)"),
    ("fd", {"nx": 4097, "ny": 2050}, "fd option nx, ny: nx × ny = 4097 × 2050 = 8.4e+06 nodes; at most 1.05e+06 "
                                     "(e.g. 1025 × 1026): the sparse LU would not fit in memory"),
    ("fd", {"progress": True}, "fd option progress: must be a callable taking one line of text; got True"),
    ("exact", {"ny": 2}, "exact option ny: must lie in [3, 4097]; got 2 (y grid nodes 0 … 1 (clustered at the walls); "
                         "--ny, default 201)"),
])
def test_options_are_checked_before_anything_runs(solver, options, message):
    with pytest.raises(OptionError) as info:
        solve("straight_channel", solver, **options)
    assert str(info.value) == message


def test_fd_accepts_numpy_integers_and_reports_progress():
    lines = []
    solution = solve("quickstart", nx=np.int64(9), ny=np.int64(42), progress=lines.append)
    assert solution["u"].shape == (9, 42)
    assert "[9x42]" in lines[0] and any("Newton 1: residual" in line for line in lines)


def test_pinn_without_out_dir_trains_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    settings = {"network.width": 8, "network.depth": 1, "points.n_interior": 32, "points.n_boundary": 8,
                "records.log_every": 1, "records.eval_nx": 5, "records.eval_ny": 9,
                "records.conflict_diagnostics": False}
    solution = solve("quickstart", "pinn", steps=2, settings=settings, device="cpu", progress=False)
    assert solution.solver == "pinn" and solution.info["steps"] == 2 and solution["u"].shape == (5, 9)
    assert solution.info["settings"]["network"]["width"] == 8
    # Nothing written: no run directory, no scratch (torch may leave its own caches in tempdir).
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("torch")] == []
    with pytest.raises(CaseError, match=r"^pinn options: \[pinn.network.width\] must be an integer in \[1, 4096\]; "
                                          r"got 0$"):
        solve("quickstart", "pinn", settings={"network.width": 0}, progress=False)
