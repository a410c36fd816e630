"""validation/adapters.py: methods parse, the 1D task takes adapters, the summary judges the verdict."""

from __future__ import annotations

import math

import pytest

from validation.adapters import parse_method, summary
from validation.npp1d import CouplingConfig, train_configuration


def test_methods_parse():
    assert parse_method("SOAP+GN") == {"optimizer": "soap", "balancing": "gn", "adapters": "none", "routing": "routed"}
    assert parse_method("Adam+GN+adapters")["adapters"] == "per_loss"
    assert parse_method("SOAP+GN+adapters-unrouted")["routing"] == "unrouted"
    with pytest.raises(ValueError, match="expected OPT"):
        parse_method("SGD+GN")


def test_the_1d_task_trains_with_adapters():
    base = dict(debye_ratio=0.2, steps=6, width=8, depth=2, n_interior=32, n_eval=51, log_every=3, dtype="float64")
    plain = train_configuration(CouplingConfig(**base))
    adapted = train_configuration(CouplingConfig(**base, adapters="per_loss", adapter_rank=2))
    assert adapted["method"] == "SOAP+GN+adapters" and plain["method"] == "SOAP+GN"
    # 6 loss terms × rank 2 × (8 + 8) on the one 8 × 8 hidden weight of each of the 3 blocks.
    assert adapted["parameters"] == plain["parameters"] + 6 * 2 * 16 * 3
    # B_k = 0 at the start: the same initial error; afterwards the runs differ.
    assert adapted["initial_error"] == plain["initial_error"]
    assert adapted["final_error"] != plain["final_error"] and math.isfinite(adapted["final_error"])
    assert adapted["steps_done"] == 6


def _profile(cell, seed, cos_min):
    rows = [{"step": s, "grad_alignment": 0.0, "cos_min": cos_min, "cos_a__b": cos_min, "gnorm_a": 1.0,
             "gnorm_b": 2.0, "loss_a": 1.0, "loss_b": 1.0} for s in range(0, 101, 20)]
    return {"cell": cell, "kind": "profile", "seed": seed, "steps": 100, "every": 20, "rows": rows,
            "diagnosis": {"term_names": ["a", "b"], "seconds": 1.0}}


def _run(cell, method, seed, error):
    return {"cell": cell, "kind": "run", "method": method, "seed": seed, "final_error": error, "steps_done": 10}


def test_summary_recomputes_the_verdict_and_scores_it():
    results = [_profile("x", 0, -0.9), _profile("x", 1, -0.8),
               _run("x", "SOAP+GN", 0, 0.1), _run("x", "SOAP+GN", 1, 0.4),
               _run("x", "SOAP+GN+adapters", 0, 0.05), _run("x", "SOAP+GN+adapters", 1, 0.2),
               _profile("y", 0, 0.2), _run("y", "SOAP+GN", 0, 0.1), _run("y", "SOAP+GN+adapters", 0, 0.3)]
    rows = summary(results, ["SOAP+GN", "SOAP+GN+adapters"])
    x, y = rows
    assert x["verdict (per seed)"] == "directional/directional" and x["best"] == "SOAP+GN+adapters"
    assert x["SOAP+GN"].startswith("2.00e-01") and x["SOAP: adapters ÷ plain"] == "0.5"
    assert x["verdict right"] == "1/1"
    assert y["verdict (per seed)"] == "low" and y["verdict right"] == "1/1"  # adapters did not help


def test_a_straight_cell_is_the_quickstart_case_at_the_given_debye_ratio_and_zeta():
    import argparse

    from validation.adapters import _cell_case, cells

    (cell,) = cells(argparse.Namespace(cells="straight:0.02:4", eps="", eps_recipe=""))
    assert cell == {"cell": "straight eps=0.02 zeta=4"}
    case = _cell_case(cell["cell"])
    problem = case.problem
    assert problem.debye_ratio == pytest.approx(0.02)
    assert problem.zeta_wall("bottom", [0.3])[0] == pytest.approx(4.0)
    assert problem.zeta_wall("top", [0.7])[0] == pytest.approx(4.0)
    assert case.pinn.steps == _cell_case("quickstart").pinn.steps  # the quick-start [pinn] settings
