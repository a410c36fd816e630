"""The 2D coupling study (validation/coupling_robustness_2d.py) records the command that made its
RESULTS section, worker layout included: the layout sets each run's torch threads and so the
ms per step the section reports."""

from __future__ import annotations

from validation.coupling_robustness_2d import parse_args, recorded_command

BASE = "python validation/coupling_robustness_2d.py --steps 1000 --eps 0.2,0.02 --seeds 2"


def test_recorded_command_without_layout_options():
    args = parse_args(["--steps", "1000", "--eps", "0.2,0.02", "--seeds", "2"])
    assert recorded_command(args) == BASE


def test_recorded_command_names_workers_and_scheduler():
    args = parse_args(["--steps", "1000", "--eps", "0.2,0.02", "--seeds", "2", "--jobs", "2"])
    assert recorded_command(args) == BASE + " --jobs 2"
    args = parse_args(["--steps", "1000", "--eps", "0.2,0.02", "--seeds", "2",
                       "--scheduler", "tcp://10.0.0.1:8786", "--jobs", "4"])
    assert recorded_command(args) == BASE + " --scheduler tcp://10.0.0.1:8786 --jobs 4"
