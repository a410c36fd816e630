"""Fixtures of the validation-script tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def small_step_fd(tmp_path: Path) -> Path:
    """cases/zeta_step.toml cut to 300 nm with a 17 × 18 FD grid, solved by FD: the run directory."""
    from eofpinn import api, io
    from eofpinn.cases import load_case

    text = (Path(__file__).resolve().parents[2] / "cases" / "zeta_step.toml").read_text()
    text = (text.replace('length = "1 um"', 'length = "300 nm"').replace('"0.5 um"', '"0.15 um"')
            .replace('"1 um", "-10 mV"', '"0.3 um", "-10 mV"').replace("edge_stretch = 2.5", "edge_stretch = 2.5\nnx = 17\nny = 18"))
    (tmp_path / "small_step.toml").write_text(text)
    io.write_run(api.solve(load_case(tmp_path / "small_step.toml"), "fd"), tmp_path / "fd")
    return tmp_path / "fd"
