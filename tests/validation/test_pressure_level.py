"""validation/pressure_level.py: how much of p's error is its level, and the salt behind it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eofpinn import io
from eofpinn.cases import load_case
from eofpinn.solution import Solution
from eofpinn.solvers.exact import solve_exact
from validation.pressure_level import first_harmonic, pressure_level


def test_first_harmonic_of_a_cosine_on_a_clustered_grid():
    x = 2.0 * (1.0 - np.cos(np.linspace(0.0, np.pi, 401))) / 2.0  # ℓ = 2, nodes crowded at the ends
    assert first_harmonic(x, 0.7 + 1.5 * np.cos(np.pi * x)) == pytest.approx(1.5, rel=1e-4)
    assert abs(first_harmonic(x, np.sin(np.pi * x))) < 1e-4


def test_level_and_salt_of_a_shifted_run(tmp_path):
    """p shifted by a constant and the salt given a cosine along x: the level is the constant,
    p_shape is zero, and Π's first harmonic is the salt's over 2ε²."""
    case = load_case(Path(__file__).resolve().parents[2] / "cases" / "straight_channel.toml")
    ref = solve_exact(case, nx=41, ny=101)
    epsilon = case.problem.debye_ratio
    X, _ = ref.mesh
    length = ref.x[-1] - ref.x[0]
    fields = {k: v.copy() for k, v in ref.fields.items()}
    fields["p"] = fields["p"] - 0.25
    fields["c_plus"] = fields["c_plus"] + 1e-3 * np.cos(2.0 * np.pi * X / length)
    io.write_run(ref, tmp_path / "ref")
    io.write_run(Solution(ref.case, ref.x, ref.y, fields, "shifted"), tmp_path / "run")
    found = pressure_level(tmp_path / "run", tmp_path / "ref")
    assert found["level"] == pytest.approx(-0.25, rel=1e-9)
    assert found["p_shape"] < 1e-12
    for mine, theirs in found["harmonics"].values():
        assert abs(theirs) < 1e-9  # the straight channel's salt does not change along x
        assert mine == pytest.approx(1e-3 / (2 * epsilon**2), rel=1e-3)
    assert np.allclose(found["outlet"]["p"], -0.25)
