"""Every writer is all or nothing: a failed write leaves the old file (or none) and no temporary,
and the CLI reports it in one line (eofpinn.atomic)."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch

from eofpinn import atomic, io
from eofpinn.cases import load_case
from eofpinn.cli import main
from eofpinn.errors import WriteError
from eofpinn.render import write_pvd
from eofpinn.solvers.exact import solve_exact
from eofpinn.pinn_runs import save_checkpoint, write_history
from eofpinn.plots import save_figure

REPO = Path(__file__).resolve().parents[2]
STRAIGHT = REPO / "cases" / "straight_channel.toml"
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture(scope="module")
def solution():
    return solve_exact(load_case(STRAIGHT), nx=6, ny=41)


def _figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    return fig


# Every writer of a run directory, as (file name, call writing it).
WRITERS = {
    "fields.npz": lambda s, p: io.write_npz(s, p),
    "fields.vts": lambda s, p: io.write_vts(s, p),
    "summary.json": lambda s, p: io.write_summary(s, p),
    "checkpoint.pt": lambda s, p: save_checkpoint({"step": 3, "w": torch.ones(4)}, p),
    "history.csv": lambda s, p: write_history([{"step": 0, "loss": 1.0}], p.parent),
    "snapshots.pvd": lambda s, p: write_pvd([(0, "snapshots/step_000000.vts")], p),
    "fields.png": lambda s, p: save_figure(_figure(), p),
}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_writer_keeps_the_old_file_when_the_disk_fills(solution, tmp_path, monkeypatch, name):
    """ENOSPC reported when the bytes are flushed (as by NFS, quotas or delayed allocation)."""
    target = tmp_path / name
    target.write_bytes(b"old")

    def full_disk(fd):
        raise ENOSPC

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    with pytest.raises(WriteError) as caught:
        WRITERS[name](solution, target)
    assert str(caught.value) == f"cannot write {target}: No space left on device"
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == [name]


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_writer_writes_a_complete_file(solution, tmp_path, name):
    WRITERS[name](solution, tmp_path / name)
    assert _leftovers(tmp_path) == [name]
    assert (tmp_path / name).stat().st_size > 0


def test_enospc_mid_write_removes_the_temporary_and_names_the_file(tmp_path):
    target = tmp_path / "data.bin"
    with pytest.raises(WriteError) as caught:
        with atomic.replacing(target) as tmp:
            tmp.write_bytes(b"half a fi")
            raise ENOSPC
    assert str(caught.value) == f"cannot write {target}: No space left on device"
    assert _leftovers(tmp_path) == []


def test_an_interrupted_write_removes_the_temporary_and_propagates(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic.replacing(target) as tmp:
            tmp.write_bytes(b"new, half")
            raise KeyboardInterrupt
    assert _leftovers(tmp_path) == ["data.bin"] and target.read_bytes() == b"old"


class _FailingVTKWriter:
    """Stands in for vtkXMLStructuredGridWriter on a full disk: it writes part of the file,
    returns 0 from Write() and sets error code 28 (ENOSPC), as VTK 9.x does."""

    def __init__(self, returns: int = 0, code: int = errno.ENOSPC):
        self.returns, self.code = returns, code

    def __call__(self):
        return self

    def SetFileName(self, name):
        self.name = name

    def Write(self):
        Path(self.name).write_bytes(b'<?xml version="1.0"?>\n<VTKFile type="StructuredGrid"')
        return self.returns

    def GetErrorCode(self):
        return self.code

    def __getattr__(self, attribute):  # SetInputData, SetDataModeToAppended, ...
        return lambda *args: None


def test_a_vtk_writer_returning_failure_leaves_no_vts(solution, tmp_path, monkeypatch):
    import vtkmodules.vtkIOXML

    monkeypatch.setattr(vtkmodules.vtkIOXML, "vtkXMLStructuredGridWriter", _FailingVTKWriter())
    with pytest.raises(WriteError) as caught:
        io.write_vts(solution, tmp_path / "fields.vts")
    assert str(caught.value) == f"cannot write {tmp_path / 'fields.vts'}: No space left on device"
    assert _leftovers(tmp_path) == []


def test_a_truncated_vts_reported_as_written_is_caught_by_its_end(solution, tmp_path, monkeypatch):
    import vtkmodules.vtkIOXML

    monkeypatch.setattr(vtkmodules.vtkIOXML, "vtkXMLStructuredGridWriter", _FailingVTKWriter(returns=1, code=0))
    with pytest.raises(WriteError) as caught:
        io.write_vts(solution, tmp_path / "fields.vts")
    assert str(caught.value) == f"cannot write {tmp_path / 'fields.vts'}: VTK wrote an incomplete file"
    assert _leftovers(tmp_path) == []


def test_solve_reports_a_failed_vts_in_one_line_and_marks_no_run_complete(tmp_path, monkeypatch, capsys):
    import vtkmodules.vtkIOXML

    monkeypatch.setattr(vtkmodules.vtkIOXML, "vtkXMLStructuredGridWriter", _FailingVTKWriter())
    out = tmp_path / "run"
    code = main(["solve", str(STRAIGHT), "--solver", "exact", "--out", str(out), "--nx", "5", "--ny", "31"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"eofpinn: error: cannot write {out / 'fields.vts'}: No space left on device\n"
    assert not (out / "fields.vts").exists() and not (out / "summary.json").exists()
    assert not [name for name in _leftovers(out) if name.startswith(".fields")]


def _file_size_limit(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_real_failing_write_from_the_kernel_exits_1_with_one_line(tmp_path):
    """RLIMIT_FSIZE makes the kernel fail a write past 20 kB (EFBIG) — in NumPy's zip writer,
    the first file of a run at the default grid."""
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "eofpinn.cli", "solve", str(STRAIGHT), "--solver", "exact",
                             "--out", str(out)], capture_output=True, text=True,
                            preexec_fn=_file_size_limit(20_000), timeout=300)
    assert result.returncode == 1
    assert result.stderr == f"eofpinn: error: cannot write {out / 'fields.npz'}: File too large\n"
    assert not (out / "fields.npz").exists()
    assert not [name for name in _leftovers(out) if name.startswith(".fields")]
