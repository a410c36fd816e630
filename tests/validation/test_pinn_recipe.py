"""validation/pinn_recipe.py: each group of cases (the straight cells, the patterned case) writes
its own RESULTS section, so one group can be rerun without the other's runs."""

from __future__ import annotations

import pytest

from validation import pinn_recipe


@pytest.fixture
def fake_runs(monkeypatch):
    """run_pinn trains nothing: it writes a two-row history and returns an error per case;
    write_section records (section, body) instead of touching RESULTS.md."""
    written = []

    def run_pinn(case, changes, reference, run_dir):
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "history.csv").write_text("step,elapsed_s,err_mean\n0,0.0,1.0\n10,1.0,0.5\n")
        error = 1e-3 if case.problem.is_straight_channel else 2e-2
        return {"err_mean": error * (1 + changes["seed"]), "err_v": 0.1, "train_s": 3.0, "status": "finished"}

    monkeypatch.setattr(pinn_recipe.pinn_study, "run_pinn", run_pinn)
    monkeypatch.setattr(pinn_recipe.pinn_study, "reference_for", lambda case, out: None)
    monkeypatch.setattr(pinn_recipe, "write_section", lambda name, command, body: written.append((name, body)))
    return written


def test_each_group_writes_its_own_section(fake_runs, tmp_path):
    rows = pinn_recipe.main(["--variants", "recipe,no pattern features", "--out", str(tmp_path)])
    assert [name for name, _ in fake_runs] == ["pinn_recipe", "pinn_recipe_patterned_zeta"]
    straight, patterned = (body for _, body in fake_runs)
    # Two straight cells × "recipe" ("no pattern features" changes nothing there); the patterned
    # case runs both variants. Median of seeds 0 and 1: error × 1.5.
    assert straight.count("| straight ε=") == 2 and "patterned_zeta" not in straight.split("\n\n", 1)[1]
    assert "| patterned_zeta | no pattern features | 3.00e-02 |" in patterned
    assert "straight ε=" not in patterned
    assert len(rows) == 4
    assert {p.name for p in tmp_path.glob("*.png")} == {"pinn_recipe.png", "pinn_recipe_patterned_zeta.png"}


def test_one_group_leaves_the_other_section_alone(fake_runs, tmp_path):
    pinn_recipe.main(["--variants", "recipe", "--cases", "straight ε=0.1 ζ̂=1", "--steps", "500", "--out", str(tmp_path)])
    assert [name for name, _ in fake_runs] == ["pinn_recipe_500_steps"]
    assert "| straight ε=0.1 ζ̂=1 | recipe | 1.50e-03 |" in fake_runs[0][1]


def test_a_diverged_run_is_listed_in_its_own_group_only(fake_runs, tmp_path, monkeypatch):
    finished = pinn_recipe.pinn_study.run_pinn

    def run_pinn(case, changes, reference, run_dir):
        if not case.problem.is_straight_channel and changes["seed"] == 1:
            return {"err_mean": float("inf"), "status": "diverged: NaN loss at step 7; checkpoint kept"}
        return finished(case, changes, reference, run_dir)

    monkeypatch.setattr(pinn_recipe.pinn_study, "run_pinn", run_pinn)
    pinn_recipe.main(["--variants", "recipe", "--out", str(tmp_path)])
    straight, patterned = (body for _, body in fake_runs)
    assert "Diverged" not in straight
    assert patterned.endswith("Diverged runs (inf above):\n\n"
                              "- patterned_zeta / recipe, seed 1: diverged: NaN loss at step 7")


def test_threads_and_the_polish_shares_reach_each_run(fake_runs, tmp_path, monkeypatch):
    """--threads sets every run's torch threads (two invocations side by side); "+ flow polish" polishes the
    flow block in float64 over the last quarter of --steps, "+ polish" every block over the last fifth."""
    seen = []
    finished = pinn_recipe.pinn_study.run_pinn
    monkeypatch.setattr(pinn_recipe.pinn_study, "run_pinn",
                        lambda case, changes, reference, run_dir: seen.append(changes) or
                        finished(case, changes, reference, run_dir))
    pinn_recipe.main(["--variants", "+ flow polish,+ polish", "--cases", "patterned_zeta", "--steps", "1500",
                      "--seeds", "1", "--threads", "1", "--out", str(tmp_path)])
    assert seen == [{"seed": 0, "steps": 1500, "polish.steps": 375, "polish.dtype": "float64", "polish.blocks": "flow",
                     "threads": 1},
                    {"seed": 0, "steps": 1500, "polish.steps": 300, "polish.dtype": "same", "polish.blocks": "all",
                     "threads": 1}]
    pinn_recipe.main(["--variants", "recipe", "--cases", "patterned_zeta", "--seeds", "1", "--out", str(tmp_path)])
    assert seen[-1] == {"seed": 0, "steps": 1500}
