"""`eofpinn diagnose` (eofpinn/solvers/pinn/diagnose.py): the profile's settings, the regime rule,
the JSON it prints, and the case file it writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eofpinn.cases import load_case
from eofpinn.cases.pinn_settings import replace
from eofpinn.cli import main
from eofpinn.solvers.pinn import diagnose as dg
from eofpinn.solvers.pinn.optimizers import learning_rate

QUICKSTART = Path(__file__).resolve().parents[2] / "cases" / "quickstart.toml"
TINY = ["--set", "pinn.network.width=8", "--set", "pinn.network.depth=2", "--set", "pinn.points.n_interior=60",
        "--set", "pinn.points.n_boundary=8", "--set", "pinn.dtype=float64", "--set", "pinn.device=cpu"]
NAMES = ("a", "b", "c")


def _row(step: int, cosines: tuple[float, float, float], norms: tuple[float, float, float]) -> dict:
    row = {"step": step, "grad_alignment": 0.0, "cos_min": min(cosines)}
    row.update({f"cos_{x}__{y}": c for (x, y), c in zip((("a", "b"), ("a", "c"), ("b", "c")), cosines)})
    row.update({f"gnorm_{n}": v for n, v in zip(NAMES, norms)})
    row.update({f"loss_{n}": 1.0 for n in NAMES})
    return row


def _profile(rows) -> dg.Profile:
    settings = dg.profile_settings(load_case(QUICKSTART).pinn, steps=100, every=10)
    return dg.Profile(rows, NAMES, settings, 1.0, "synthetic")


def test_the_profile_is_the_case_run_without_remedies():
    case = load_case(QUICKSTART).pinn
    case = replace(case, {"polish.steps": 100, "network.adapters": "per_loss", "time_limit_s": 60.0})
    profile = dg.profile_settings(case, steps=400, every=20, seed=3)
    assert profile.steps == 400 and profile.seed == 3 and profile.time_limit_s == 0.0
    assert profile.balancing.name == "none" and profile.balancing.options == {}
    assert profile.network.adapters == "none" and profile.polish.steps == 0
    assert profile.records.log_every == 20 and profile.records.conflict_diagnostics
    assert (profile.optimizer.name, profile.network.width, profile.points.n_interior) == ("soap", 64, 1000)
    # The case decays lr 3e-3 → 3e-4 over its 1400 main steps; the profile follows it step by step.
    for step in (0, 133, 399):
        assert learning_rate(profile.optimizer, profile.main_steps, step) == pytest.approx(
            learning_rate(case.optimizer, case.main_steps, step), rel=1e-12)
    with pytest.raises(ValueError, match="every must be an integer in"):
        dg.profile_settings(case, steps=10, every=11)


def test_persistent_opposite_gradients_are_directional():
    rows = [_row(s, (-0.9, 0.2, 0.1), (1.0, 2.0, 1.5)) for s in range(0, 101, 10)]
    d = dg.diagnose(_profile(rows))
    assert (d.regime, d.recommendation) == ("directional", "adapters+gn")
    assert d.cos_min_median == pytest.approx(-0.9) and d.late_conflict_fraction == 1.0
    assert d.worst_pair == ("a", "b") and d.most_conflicting_pair == ("a", "b")
    assert d.norm_ratio_median == pytest.approx(2.0)


def test_conflict_that_fades_is_not_directional():
    # Strong conflict over the first 40 % of the window, then none: magnitude decides.
    rows = [_row(s, (-0.95 if s < 40 else 0.3, 0.2, 0.1), (1.0, 300.0, 2.0)) for s in range(0, 101, 10)]
    d = dg.diagnose(_profile(rows))
    assert d.late_conflict_fraction == 0.0 and d.regime == "magnitude" and d.recommendation == "gn"
    rows = [_row(s, (-0.95 if s < 60 else 0.3, 0.2, 0.1), (1.0, 3.0, 2.0)) for s in range(0, 101, 10)]
    d = dg.diagnose(_profile(rows))
    assert d.cos_min_median == pytest.approx(-0.95)  # 6 of 11 rows, but only 1 of 6 late ones
    assert d.regime == "low" and d.recommendation == "none" and "transient" in d.reason


def test_magnitude_and_low_by_the_norm_ratio():
    t = dg.Thresholds()
    ratios = (t.magnitude_ratio * 1.01, t.magnitude_ratio * 0.99)
    regimes = [dg.diagnose(_profile([_row(s, (0.1, 0.0, -0.2), (1.0, r, 2.0)) for s in range(0, 101, 10)])).regime
               for r in ratios]
    assert regimes == ["magnitude", "low"]
    # A zero gradient (a term satisfied by construction) does not make the ratio infinite.
    d = dg.diagnose(_profile([_row(s, (0.1, 0.0, -0.2), (0.0, 3.0, 2.0)) for s in range(0, 101, 10)]))
    assert d.norm_ratio_median == pytest.approx(1.5) and d.regime == "low"


def test_recommended_case_files_load_with_the_recommendation(tmp_path):
    case = load_case(QUICKSTART)
    for recommendation, (balancer, adapters) in dg.RECOMMENDED_SETTINGS.items():
        out = dg.write_recommended_case(case, tmp_path / f"{recommendation}.toml", recommendation)
        written = load_case(out)
        assert (written.pinn.balancing.name, written.pinn.network.adapters) == (balancer, adapters)
        # Everything else is the case's: the problem, the network, the optimiser.
        assert written.problem == case.problem and written.pinn.optimizer == case.pinn.optimizer
        assert written.pinn.network.width == case.pinn.network.width
        # Same balancer: its options stay (every = 100); another one: they go.
        assert written.pinn.balancing.options == ({"every": 100} if balancer == "gn" else {})
        assert "# registered: gn, lra, relobralo, none" in out.read_text()  # comments kept
    with pytest.raises(dg.EofpinnError, match="exists; choose another name"):
        dg.write_recommended_case(case, tmp_path / "gn.toml", "gn")


def test_a_case_without_pinn_sections_gets_them(tmp_path):
    text = QUICKSTART.read_text()
    source = tmp_path / "bare.toml"
    source.write_text(text[:text.index("[pinn]")])
    out = dg.write_recommended_case(load_case(source), tmp_path / "out.toml", "adapters+gn")
    assert load_case(out).pinn.network.adapters == "per_loss"
    assert load_case(out).pinn.balancing.name == "gn"


def test_cli_json_figure_and_written_case(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "recommended.toml"
    code = main(["diagnose", str(QUICKSTART), "--steps", "6", "--every", "3", "--json", "--write-case", str(out),
                 *TINY])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    for key in ("regime", "recommendation", "alignment_mean", "cos_min_median", "norm_ratio_median", "steps",
                "late_conflict_fraction", "gradient_norm_medians", "thresholds", "figure", "written_case"):
        assert key in payload, key
    assert payload["regime"] in dg.REGIMES and payload["recommendation"] == dg.RECOMMENDATIONS[payload["regime"]]
    assert payload["steps"] == 6 and payload["rows"] == 3 and len(payload["term_names"]) == 7
    assert -1.0 <= payload["alignment_mean"] <= 1.0 and math.isfinite(payload["norm_ratio_median"])
    assert (tmp_path / "quickstart_diagnose.png").stat().st_size > 10_000
    balancer, adapters = dg.RECOMMENDED_SETTINGS[payload["recommendation"]]
    written = load_case(out).pinn
    assert (written.balancing.name, written.network.adapters) == (balancer, adapters)
    # A second run refuses to overwrite, before training.
    assert main(["diagnose", str(QUICKSTART), "--steps", "6", "--write-case", str(out), *TINY]) == 2
    assert "exists; choose another name" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", (
        (["--steps", "0"], "diagnose --steps must be an integer ≥ 1; got 0"),
        (["--steps", "10", "--every", "11"], "diagnose --every must be an integer in [1, --steps = 10]; got 11"),
        (["--seed", "-1"], "diagnose --seed must be an integer ≥ 0; got -1"),
        (["--write-case", "out.txt"], "--write-case out.txt: the case file must end in .toml"),
        (["--write-case", "no/such/dir/out.toml"], "no/such/dir: no such directory"),
))
def test_bad_options_are_one_line_errors(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["diagnose", str(QUICKSTART), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_bad_flag_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["diagnose", str(QUICKSTART), "--steps", "many"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --steps: invalid int value: 'many'" in err and err.count("\n") == 1


def test_a_conflict_that_moves_from_pair_to_pair_is_not_directional():
    """cos_min is −0.8 on every row, but a different pair carries it each time: every pair's median
    cosine is +0.2, so no two losses conflict persistently (the quick-start case's situation)."""
    def cosines(step):
        k = (step // 10) % 3
        return tuple(-0.8 if i == k else 0.2 for i in range(3))

    rows = [_row(s, cosines(s), (1.0, 50.0, 2.0)) for s in range(0, 101, 10)]
    d = dg.diagnose(_profile(rows))
    assert d.cos_min_median == pytest.approx(-0.8)
    assert d.worst_pair_cos_median == pytest.approx(0.2)
    assert (d.regime, d.recommendation) == ("magnitude", "gn")
