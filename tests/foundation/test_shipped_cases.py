"""Shipped cases: found by name in a clone (editable install) and inside a built wheel."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from eofpinn.cases import load_case
from eofpinn.cases.shipped import shipped_cases

REPO = Path(__file__).resolve().parents[2]


def test_shipped_cases_are_the_repository_cases_folder():
    assert shipped_cases() == {p.stem: p for p in sorted((REPO / "cases").glob("*.toml"))}


def test_load_case_by_name_is_the_file():
    assert load_case("quickstart") == load_case(REPO / "cases" / "quickstart.toml")


def test_a_file_of_that_name_here_wins_over_the_shipped_case(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("quickstart").write_text((REPO / "cases" / "straight_channel.toml").read_text())
    assert load_case("quickstart").name == "straight_channel"


def test_the_wheel_carries_every_shipped_case(tmp_path):
    """Build from a copy of the sources (no build/ left in the clone) with the installed setuptools."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    for folder in ("eofpinn", "cases"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(source)], check=True, capture_output=True)
    wheel, = (tmp_path / "dist").glob("eofpinn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n for n in names if n.startswith("eofpinn/case_files/")) == \
        [f"eofpinn/case_files/{p.name}" for p in sorted((REPO / "cases").glob("*.toml"))]
    assert "eofpinn/solvers/fd/solver.py" in names and "eofpinn/cases/shipped.py" in names
