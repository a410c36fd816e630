"""validation/coupling_paper_budget.py, tiny: an interrupted study resumes to the same histories."""

from __future__ import annotations

import csv

import pytest

from validation import coupling_paper_budget as study

TINY = ["--eps", "0.2,0.1", "--seeds", "1", "--methods", "SOAP+GN", "--width", "8", "--depth", "2", "--points", "32",
        "--update-every", "3", "--log-every", "2", "--checkpoint-every", "4", "--workers", "1", "--no-results-page"]


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_a_study_stopped_half_way_resumes_exactly(tmp_path):
    straight = study.main([*TINY, "--steps", "10", "--out", str(tmp_path / "straight")])
    study.main([*TINY, "--steps", "6", "--out", str(tmp_path / "split")])
    split = study.main([*TINY, "--steps", "10", "--out", str(tmp_path / "split")])
    assert [r["resumed_from"] for r in split] == [6, 6] and [r["steps_done"] for r in split] == [10, 10]
    for a, b in zip(straight, split):
        assert a["final_error"] == b["final_error"]
        key = a["key"]
        rows_a, rows_b = _rows(tmp_path / "straight" / key / "history.csv"), _rows(tmp_path / "split" / key / "history.csv")
        assert [r["step"] for r in rows_b] == ["0", "2", "4", "6", "8", "10"]
        for ra, rb in zip(rows_a, rows_b):
            assert {k: v for k, v in ra.items() if k.startswith(("loss", "err_", "cos_", "gnorm_"))} == \
                   {k: v for k, v in rb.items() if k.startswith(("loss", "err_", "cos_", "gnorm_"))}
    # Nothing left to do: a third call trains nothing.
    again = study.main([*TINY, "--steps", "10", "--out", str(tmp_path / "split")])
    assert [r["resumed_from"] for r in again] == [6, 6]
