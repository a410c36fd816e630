"""The examples/ scripts run as a user runs them, and print the number each is about.

Measured values (FD is deterministic: only round-off differs between machines, far inside 1 %).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_straight_channel_fd_matches_exact():
    out = run_example("straight_channel.py")
    largest = float(re.search(r"largest +max relative error (\S+)", out).group(1))
    assert largest == pytest.approx(4.524e-5, rel=1e-2)  # 17 × 162 nodes (README: ≤ 7.2e-5 on 65 × 162)


def test_patterned_flow_recirculates():
    out = run_example("patterned_flow.py")
    recirculation = float(re.search(r"recirculation +(\S+) U0 H", out).group(1))
    assert recirculation == pytest.approx(2.0854e-4, rel=1e-2)  # 81 × 82 nodes
