"""The training loop: it learns, it resumes exactly, and it stops cleanly on NaN."""

from __future__ import annotations

import csv
import dataclasses
import math

import numpy as np
import pytest
import torch

from eofpinn.cases import case_from_problem, straight_problem
from eofpinn.errors import SolverError
from eofpinn.solution import FIELD_NAMES
from eofpinn.cases.pinn_settings import SettingError, replace
from eofpinn.pinn_runs import load_checkpoint, run_in_directory
from eofpinn.solvers.pinn import ChannelTask
from eofpinn.solvers.pinn import trainer as trainer_module


def _history(out_dir) -> list[dict[str, float]]:
    with open(out_dir / "history.csv") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def test_a_few_hundred_steps_reduce_loss_and_error(tmp_path, quick_problem, small_settings):
    settings = replace(small_settings, {"steps": 300, "records.log_every": 50, "records.checkpoint_every": 100, "optimizer.learning_rate": 1e-2})
    solution = run_in_directory(case_from_problem(quick_problem, pinn=settings), tmp_path, settings, progress=False)
    rows = _history(tmp_path)
    assert [r["step"] for r in rows] == [0, 50, 100, 150, 200, 250, 300]
    first, last = rows[0], rows[-1]
    unweighted = [sum(v for k, v in r.items() if k.startswith("loss_")) for r in (first, last)]
    # Measured (ε = 0.2, 2 × 16 tanh blocks, 200 points, SOAP+GN, lr 1e-2, float64; seeds 0–4 with
    # the ATen CPU kernels "default" and "avx2"): loss ÷ 1.1e4 … 6.2e4; error 0.72 → 0.006 … 0.052
    # (÷ 14 … 118). The trajectory is chaotic in the kernel's rounding, so the bounds keep a margin
    # of more than 2× over the worst case: loss ÷ 100, error ÷ 6 and below 0.12.
    assert unweighted[1] < 1e-2 * unweighted[0]
    assert last["err_mean"] < first["err_mean"] / 6.0
    assert last["err_mean"] < 0.12
    info = solution.info
    assert info["steps"] == 300 and info["device"] == "cpu" and info["ms_per_step"] > 0
    assert info["final_errors"]["mean"] == pytest.approx(last["err_mean"])
    assert info["best_errors"]["mean"] <= info["final_errors"]["mean"]
    assert set(solution.fields) >= set(FIELD_NAMES) and solution.fields["u"].shape == (12, 24)
    for name in ("checkpoint.pt", "best_loss.pt", "history.csv", "loss_history.png", "error_history.png"):
        assert (tmp_path / name).exists(), name
    # φ = ψ + Ê(ℓ − x) on the returned grid.
    x = solution.x[:, None]
    np.testing.assert_allclose(solution["phi"], solution["psi"] + quick_problem.field_hat * (1.0 - x), atol=1e-12)


@pytest.mark.parametrize("optimizer, weighting, resample", (("soap", "gn", 0), ("adam", "lra", 7),
                                                             ("lbfgs", "relobralo", 0)))
def test_resume_continues_the_same_loss_curve(tmp_path, quick_problem, small_settings, optimizer, weighting, resample):
    changes = {"steps": 30, "records.checkpoint_every": 15, "optimizer.name": optimizer, "balancing.name": weighting,
               "points.resample_every": resample}
    if optimizer == "soap":
        changes["optimizer.precondition_frequency"] = 3
    if weighting in ("gn", "lra"):
        changes["balancing.every"] = 4
    settings = replace(small_settings, changes)
    case = case_from_problem(quick_problem, pinn=settings)
    run_in_directory(case, tmp_path / "straight", settings, progress=False)
    half = replace(settings, {"steps": 15})
    run_in_directory(case, tmp_path / "split", half, progress=False)
    run_in_directory(case, tmp_path / "split", settings, resume=tmp_path / "split", progress=False)
    straight, split = _history(tmp_path / "straight"), _history(tmp_path / "split")
    assert [r["step"] for r in split] == list(range(31))
    _assert_same_curves(straight, split)


def _assert_same_curves(straight: list[dict], split: list[dict]) -> None:
    """A run resumed from its checkpoint logged what the uninterrupted run logged, to the last digit."""
    for a, b in zip(straight, split):
        for key in a:
            if key.startswith(("loss", "weight_", "err_", "grad_alignment", "cos_")):
                assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-300), (a["step"], key)


@pytest.mark.parametrize("key, parameter, new_term, old_term", (("flow", "scaled_flux", "vorticity", "continuity"),
                                                                  ("ion_flux", "ion_fluxes", "flux_plus", "np_plus")))
def test_stream_function_run_resumes_on_the_same_loss_curve_with_its_fluxes(tmp_path, quick_problem, small_settings,
                                                                            key, parameter, new_term, old_term):
    """formulation.flow = "stream" (ion_flux = "stream"): the trainable volume flux Q (ion fluxes
    Q±) is in the checkpoint, so a split run continues the straight run's loss curve to the last
    digit, and Q (Q±) moved from its start."""
    settings = replace(small_settings, {"steps": 20, "records.checkpoint_every": 10, f"formulation.{key}": "stream",
                                        "network.output_gain": 1.0})
    case = case_from_problem(quick_problem, pinn=settings)
    run_in_directory(case, tmp_path / "straight", settings, progress=False)
    run_in_directory(case, tmp_path / "split", replace(settings, {"steps": 10}), progress=False)
    run_in_directory(case, tmp_path / "split", settings, resume=tmp_path / "split", progress=False)
    straight, split = _history(tmp_path / "straight"), _history(tmp_path / "split")
    assert f"loss_{new_term}" in straight[0] and f"loss_{old_term}" not in straight[0]
    assert [r["step"] for r in split] == list(range(21))
    _assert_same_curves(straight, split)
    flux = [torch.load(tmp_path / run / "checkpoint.pt", weights_only=False)["model"][parameter]
            for run in ("straight", "split")]
    model = trainer_module.Trainer(ChannelTask(case, settings), settings).model
    assert torch.equal(flux[0], flux[1])
    assert float((flux[0] - getattr(model, parameter).detach()).abs().min()) > 1e-6


def test_nan_stops_with_solver_error_and_keeps_last_good_checkpoint(tmp_path, quick_problem, small_settings,
                                                                    monkeypatch):
    settings = replace(small_settings, {"steps": 40, "records.log_every": 5, "records.checkpoint_every": 10})
    original = trainer_module.Trainer._terms

    def poisoned(self, points):
        terms = original(self, points)
        return terms * float("nan") if self.step >= 23 else terms

    monkeypatch.setattr(trainer_module.Trainer, "_terms", poisoned)
    with pytest.raises(SolverError) as caught:
        run_in_directory(case_from_problem(quick_problem, pinn=settings), tmp_path, settings, progress=False)
    message = str(caught.value)
    assert "diverged" in message and "NaN or Inf between step 20 and step 26" in message
    assert f"({tmp_path / 'checkpoint.pt'}, step 20) is kept" in message
    state = load_checkpoint(tmp_path)
    assert state["step"] == 20
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert [r["step"] for r in _history(tmp_path)] == [0, 5, 10, 15, 20]


def test_resume_refuses_changed_networks(tmp_path, quick_problem, small_settings):
    settings = replace(small_settings, {"steps": 5, "records.checkpoint_every": 5})
    case = case_from_problem(quick_problem, pinn=settings)
    run_in_directory(case, tmp_path, settings, progress=False)
    wider = replace(settings, {"network.width": 24, "steps": 10})
    with pytest.raises(SolverError, match="settings changed \\(width: 16 → 24\\)"):
        run_in_directory(case, tmp_path, wider, resume=tmp_path, progress=False)
    with pytest.raises(SolverError, match="no checkpoint at"):
        run_in_directory(case, tmp_path, settings, resume=tmp_path / "nowhere", progress=False)
    # a resume under another seed would record the run as that seed's
    other_seed = replace(settings, {"seed": 1, "steps": 10})
    with pytest.raises(SolverError, match=r"^cannot resume from .*: settings changed \(seed: 0 → 1\); "
                                          r"start a new run or restore these settings$"):
        run_in_directory(case, tmp_path, other_seed, resume=tmp_path, progress=False)


def test_paper_case_runs_with_reservoir_ends(tmp_path, small_settings):
    problem = straight_problem(0.1414, 1.0, 1.0, ends="reservoir", ion_wall="boltzmann", equations="paper")
    settings = replace(small_settings, {"steps": 3, "formulation.hard_walls": False, "formulation.concentrations": "direct", "formulation.pressure": "total", "records.checkpoint_every": 100})
    solution = run_in_directory(case_from_problem(problem, pinn=settings), tmp_path, settings, progress=False)
    assert {"end_psi", "end_ions", "end_velocity", "end_pressure", "wall_psi", "wall_ions",
            "wall_velocity"} <= set(solution.info["loss_terms"])
    assert np.isfinite(solution.info["final_errors"]["mean"])


def test_bad_setting_is_refused_when_built_naming_the_choices(small_settings):
    with pytest.raises(SettingError, match="^\\[pinn.formulation.concentrations\\] must be one of 'slotboom', "
                                          "'log', 'direct'; got 'boltzmann'$"):
        replace(small_settings, {"formulation.concentrations": "boltzmann"})


@pytest.mark.slow
def test_compiled_loss_matches_eager(tmp_path, quick_problem, small_settings):
    """torch.compile changes speed, not the loss terms or their gradients beyond rounding
    (cold compile: about a minute). Trajectories are not compared: Adam-type steps normalise
    each gradient component, so rounding differences in near-zero components grow."""
    settings = replace(small_settings, {"compile": True})
    trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=settings), settings), settings)
    compiled, eager = trainer.terms_fn(trainer.points), trainer._terms(trainer.points)
    assert torch.allclose(compiled, eager, rtol=1e-10, atol=0)
    for a, b in zip(torch.autograd.grad(compiled.sum(), trainer.params),
                    torch.autograd.grad(eager.sum(), trainer.params)):
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.slow
def test_a_compiled_run_goes_through_a_float64_flow_polish_with_per_term_gradients(quick_problem, small_settings):
    """The 2D recipe's run compiled: GN updates and the logged conflict diagnostics take per-term
    gradients (the graph kept) in float32 and then in the float64 polish of the flow block, whose
    compiled backward once refused a kept graph (donated buffers). Cold compiles: about 2 minutes."""
    settings = replace(small_settings, {"compile": True, "steps": 12, "polish.steps": 4, "polish.dtype": "float64",
                                        "polish.blocks": "flow", "records.log_every": 1,
                                        "records.conflict_diagnostics": True, "balancing.every": 4})
    trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=settings), settings), settings)
    trainer.train()
    assert trainer.compile_failure is None and trainer.step == 12 and trainer.dtype == torch.float64
    assert len(trainer.history) == 13 and all(math.isfinite(row["loss"]) for row in trainer.history)


@pytest.mark.slow
def test_a_compiled_run_of_a_salt_without_closed_layers_does_not_trace_its_cached_base(small_settings):
    """A 3:1 salt's double layers are root-found (a Newton loop that reads tensors as numbers) and
    kept per point set (Formulation._cached). Traced by torch.compile, that look-up broke the graph
    at each `Tensor.item()` and recompiled until dynamo's recompile limit, with a page of warnings
    in the user's terminal; now the compiled loss calls it untraced, so dynamo meets no `.item()`."""
    from torch._dynamo.utils import counters

    problem = straight_problem(0.2, -1.0, 1.0, valence_plus=3.0, valence_minus=-1.0)
    settings = replace(small_settings, {"compile": True, "steps": 24, "dtype": "float32", "polish.steps": 4,
                                        "polish.dtype": "float64", "polish.blocks": "flow", "points.resample_every": 2})
    trainer = trainer_module.Trainer(ChannelTask(case_from_problem(problem, pinn=settings), settings), settings)
    counters.clear()
    trainer.train()
    assert trainer.compile_failure is None and trainer.step == 24 and trainer.dtype == torch.float64
    breaks = [reason for kind in ("graph_break", "unimplemented") for reason in counters[kind]]
    assert any("Formulation._cached" in reason for reason in breaks)  # the compiled loss did reach it
    assert [reason.splitlines()[0] for reason in breaks if "Tensor.item()" in reason] == []


def test_a_compiler_that_fails_leaves_the_run_eager_with_one_warning(monkeypatch, quick_problem, small_settings):
    """Where torch.compile cannot compile (no C++ compiler on the machine, say), the run trains
    on the eager loss, warns once and records it; its steps are the eager run's to the last bit."""
    import warnings

    def failing_compile(function):
        def compiled(*args):
            raise RuntimeError("InductorError: no C++ compiler found\nmore detail")
        return compiled

    monkeypatch.setattr(trainer_module.torch, "compile", failing_compile)
    runs = {}
    for flag in (True, False):
        settings = replace(small_settings, {"compile": flag, "steps": 20})
        trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=settings), settings), settings)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer.train()
        history = [{k: v for k, v in row.items() if k not in ("ms_per_step", "elapsed_s")} for row in trainer.history]
        runs[flag] = (history, [str(w.message) for w in caught], trainer.result().info.get("warnings", []))
    message = ("[pinn] compile = true failed (RuntimeError: InductorError: no C++ compiler found); "
               "trained without it")
    assert runs[True][1] == [message] and runs[True][2] == [message]
    assert runs[False][1] == [] and runs[False][2] == []
    assert runs[True][0] == runs[False][0]


def test_polishing_phase_freezes_weights_switches_optimizer_and_resumes_exactly(tmp_path, quick_problem, small_settings):
    """[pinn.polish]: the last steps run L-BFGS in float64 with the GN weights of the main phase;
    a run split inside either phase continues the same history."""
    settings = replace(small_settings, {"steps": 30, "dtype": "float32", "records.checkpoint_every": 5,
                                        "balancing.every": 4, "polish.steps": 10, "polish.dtype": "float64"})
    case = case_from_problem(quick_problem, pinn=settings)
    straight = run_in_directory(case, tmp_path / "straight", settings)
    rows = _history(tmp_path / "straight")
    main, polish = [r for r in rows if r["step"] < 20], [r for r in rows if r["step"] > 20]
    assert all(r["lr"] < 1.0 for r in main) and all(r["lr"] == 1.0 for r in polish)
    frozen = {k: v for k, v in rows[20].items() if k.startswith("weight_")}
    assert all({k: v for k, v in r.items() if k.startswith("weight_")} == frozen for r in polish)
    assert rows[-1]["err_mean"] < rows[19]["err_mean"]  # L-BFGS lowers the error further
    state = load_checkpoint(tmp_path / "straight")
    assert state["phase"] == "polish"
    assert all(v.dtype == torch.float64 for v in state["model"].values() if v.is_floating_point())
    for stop in (15, 25):
        split = tmp_path / f"split{stop}"
        run_in_directory(case, split, replace(settings, {"steps": stop, "polish.steps": max(0, stop - 20)}))
        run_in_directory(case, split, settings, resume=split)
        for a, b in zip(rows, _history(split)):
            for key in a:
                if key.startswith(("loss", "weight_", "err_")):
                    assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-300), (stop, a["step"], key)
    assert straight.info["steps"] == 30


def test_resume_with_adaptive_and_edge_points_on_a_patterned_channel(tmp_path, small_settings):
    """Adaptive sampling draws from the run's generator: a split run redraws the same points."""
    from eofpinn.cases import Problem, ZetaSegment

    wall = (ZetaSegment(0.0, 0.5, 1.0), ZetaSegment(0.5, 1.0, -0.5))
    problem = Problem(debye_ratio=0.2, length_ratio=1.0, field_hat=1.0, zeta_bottom=wall, zeta_top=wall,
                      zeta_transition=0.05)
    settings = replace(small_settings, {"steps": 20, "records.checkpoint_every": 10, "points.wall_fraction": 0.3,
                                        "points.edge_fraction": 0.2,
                                        "points.adaptive_fraction": 0.3, "points.adaptive_every": 6,
                                        "formulation.psi_base": "gouy_chapman",
                                        "formulation.flow_base": "electroosmotic"})
    case = case_from_problem(problem, pinn=settings)
    run_in_directory(case, tmp_path / "straight", settings)
    run_in_directory(case, tmp_path / "split", replace(settings, {"steps": 10}))
    run_in_directory(case, tmp_path / "split", settings, resume=tmp_path / "split")
    a, b = load_checkpoint(tmp_path / "straight"), load_checkpoint(tmp_path / "split")
    assert torch.equal(a["points"]["interior"], b["points"]["interior"])
    for x, y in zip(_history(tmp_path / "straight"), _history(tmp_path / "split")):
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-9), x["step"]


def test_continuation_scales_the_walls_then_reaches_the_case(tmp_path, quick_problem, small_settings):
    settings = replace(small_settings, {"steps": 12, "records.log_every": 4, "continuation.steps": 8,
                                        "continuation.zeta_from": 0.25})
    assert [settings.continuation.zeta_scale(k) for k in (0, 4, 8, 12)] == [0.25, 0.625, 1.0, 1.0]
    case = case_from_problem(quick_problem, pinn=settings)
    task = ChannelTask(case, settings)
    trainer = trainer_module.Trainer(task, settings)
    seen = []
    original = task.before_step

    def recording(model, step):
        original(model, step)
        seen.append(model.formulation.zeta_scale)

    task.before_step = recording
    trainer.train()
    assert seen[:9] == pytest.approx([0.25 + 0.75 * k / 8 for k in range(9)]) and seen[-1] == 1.0
    # Wall values follow: at step 0 the hard ψ on the walls is 0.25 ζ̂.
    model = trainer.model
    model.formulation = dataclasses.replace(model.formulation, zeta_scale=0.25)
    wall = torch.tensor([[0.3, 0.0], [0.7, 1.0]], dtype=torch.float64)
    assert model.values(wall)["psi"].tolist() == pytest.approx([0.25, 0.25], abs=1e-12)


def test_warm_start_takes_the_networks_of_another_run(tmp_path, quick_problem, small_settings):
    settings = replace(small_settings, {"steps": 10, "records.checkpoint_every": 100})
    case = case_from_problem(quick_problem, pinn=settings)
    first = run_in_directory(case, tmp_path / "first", settings)
    second = run_in_directory(case, tmp_path / "second", replace(settings, {"steps": 3}), init=tmp_path / "first")
    rows = _history(tmp_path / "second")
    assert rows[0]["err_mean"] == pytest.approx(first.info["final_errors"]["mean"], rel=1e-12)
    assert second.info["steps"] == 3
    # the loss weights start where the first run left them (a fresh run starts them at 1)
    last = _history(tmp_path / "first")[-1]
    trainer = trainer_module.Trainer(ChannelTask(case, settings), settings)
    assert torch.equal(trainer.balance["weights"], torch.ones_like(trainer.balance["weights"]))
    trainer.warm_start(load_checkpoint(tmp_path / "first"))
    taken = [float(last[f"weight_{name}"]) for name in trainer.term_names]
    assert trainer.balance["weights"].tolist() == pytest.approx(taken, rel=1e-6) and max(taken) > 2.0 * min(taken)
    other = replace(settings, {"balancing.name": "relobralo"})
    trainer = trainer_module.Trainer(ChannelTask(case, other), other)
    trainer.warm_start(load_checkpoint(tmp_path / "first"))
    assert torch.equal(trainer.balance["weights"], torch.ones_like(trainer.balance["weights"]))
    wider = replace(settings, {"network.width": 24})
    with pytest.raises(SolverError, match=r"cannot start from .*first/checkpoint.pt: its networks differ from this "
                                          r"run's \(.*\); use a run with the same \[pinn.network\] settings"):
        run_in_directory(case, tmp_path / "third", wider, init=tmp_path / "first")
    stream = replace(settings, {"formulation.flow": "stream"})
    with pytest.raises(SolverError, match=r"cannot start from .*first/checkpoint.pt: its flow block carries another "
                                          r"flow \(formulation.flow 'velocity', this run 'stream'\); use a run with the "
                                          r"same flow form"):
        run_in_directory(case, tmp_path / "fourth", stream, init=tmp_path / "first")
    assert not (tmp_path / "fourth" / "summary.json").exists()
    ion_stream = replace(settings, {"formulation.ion_flux": "stream"})
    with pytest.raises(SolverError, match=r"cannot start from .*first/checkpoint.pt: its c± blocks carry other "
                                          r"outputs \(formulation.ion_flux 'divergence', this run 'stream'\); use a run "
                                          r"with the same ion flux form"):
        run_in_directory(case, tmp_path / "fifth", ion_stream, init=tmp_path / "first")


def test_lbfgs_descends_from_the_default_start(quick_problem, small_settings):
    """One L-BFGS iteration per step with the strong-Wolfe search: torch's default evaluation budget
    (max_iter × 5/4) left that search no trial beyond the first, so a rejected first trial gave
    t = 0, an unchanged loss, and NaN one step later (measured: 21.4, 21.4, nan). With room for the
    search the loss falls to 0.04× in five steps (measured); asserted: below a quarter."""
    settings = replace(small_settings, {"steps": 5, "optimizer.name": "lbfgs", "balancing.name": "none"})
    trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=settings), settings), settings)
    losses = [float(trainer.train_step().sum()) for _ in range(6)]
    assert all(math.isfinite(v) for v in losses), losses
    assert losses[-1] < 0.25 * losses[0] and losses[1] < losses[0], losses


class _Iterates(trainer_module.Observer):
    """Keeps θ_step (before that step) at every step."""

    def __init__(self):
        self.params = {}

    def due(self, step: int) -> bool:
        return True

    def at_step(self, trainer) -> None:
        self.params[trainer.step] = [p.detach().clone() for p in trainer.params]


def test_tail_average_ends_on_the_mean_of_the_last_iterates_and_resumes_exactly(tmp_path, quick_problem,
                                                                                small_settings):
    base = replace(small_settings, {"steps": 12, "records.checkpoint_every": 100, "points.resample_every": 4})
    plain_trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=base), base, None), base,
                                           [seen := _Iterates()])
    plain_trainer.train()
    last = [p.detach().clone() for p in plain_trainer.params]
    # average_last = 0.25 of 12 steps: the iterates θ_10, θ_11, θ_12 (θ_12 = the last one).
    averaged = replace(base, {"optimizer.average_last": 0.25})
    trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=averaged), averaged, None),
                                     averaged)
    assert trainer.average_start == 9
    trainer.train()
    assert trainer.average["count"] == 3 and trainer.average["applied"]
    for got, a, b, c in zip(trainer.params, seen.params[10], seen.params[11], last):
        torch.testing.assert_close(got.detach(), (a + b + c) / 3, rtol=1e-12, atol=1e-14)
    assert not all(torch.equal(g.detach(), c) for g, c in zip(trainer.params, last))
    # The final row is measured at the average.
    run_in_directory(case_from_problem(quick_problem, pinn=averaged), tmp_path, averaged, progress=False)
    assert _history(tmp_path)[-1]["step"] == 12
    assert _history(tmp_path)[-1]["err_mean"] == pytest.approx(trainer.errors()["mean"], rel=1e-9)
    # A run stopped inside the window (its average holds θ_10 and θ_11) resumes to the same parameters.
    saver = _Iterates()
    saver.at_step = lambda t: setattr(saver, "state", _copy(t.state()) if t.step == 11 else getattr(saver, "state", None))
    first = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=averaged), averaged, None),
                                   averaged, [saver])
    first.train()
    assert saver.state["average"]["count"] == 2
    resumed = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=averaged), averaged, None),
                                     averaged)
    resumed.load_state(saver.state)
    resumed.train()
    for a, b in zip(resumed.params, trainer.params):
        assert torch.equal(a.detach(), b.detach())
    # A finished run extended to 20 steps goes on from its last iterate, not from its mean, and
    # averages its own last 5 steps: the same parameters as 20 steps in one go.
    longer = replace(averaged, {"steps": 20})
    extended = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=longer), longer, None), longer)
    extended.load_state(_copy(trainer.state()))
    extended.train()
    straight = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=longer), longer, None), longer)
    straight.train()
    assert extended.average["count"] == straight.average["count"] == 5
    for a, b in zip(extended.params, straight.params):
        assert torch.equal(a.detach(), b.detach())


def test_a_resumed_gn_state_keeps_its_cap_mask_and_resumes_exactly(quick_problem, small_settings):
    """The GN state's `capped` mask (cap_poisson false) comes back from a checkpoint as a bool mask
    (Trainer.load_state casts floating tensors only), and the run stopped at step 3 and resumed ends
    on the parameters of the run in one go."""
    settings = replace(small_settings, {"steps": 6, "balancing.name": "gn", "balancing.every": 2,
                                        "balancing.max_ratio": 10, "balancing.cap_poisson": False})

    def trainer(observers=()):
        return trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=settings), settings, None),
                                      settings, list(observers))

    straight = trainer()
    straight.train()
    saver = _Iterates()
    saver.at_step = lambda t: setattr(saver, "state", _copy(t.state()) if t.step == 3 else getattr(saver, "state", None))
    trainer([saver]).train()
    resumed = trainer()
    resumed.load_state(saver.state)
    mask = resumed.balance["capped"]
    assert mask.dtype == torch.bool and mask.tolist() == [name != "poisson" for name in resumed.term_names]
    resumed.train()
    for a, b in zip(resumed.params, straight.params):
        assert torch.equal(a.detach(), b.detach())


def _copy(state: dict) -> dict:
    """`state` through torch.save and torch.load, as a checkpoint file holds it."""
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def test_average_last_must_leave_a_last_iterate(small_settings):
    with pytest.raises(SettingError, match=r"\[pinn\.optimizer\.average_last\] must be a number in \[0, 1\) \(0: the last iterate\); got 1\.0"):
        replace(small_settings, {"optimizer.average_last": 1.0})


# [pinn.polish] blocks: which networks move, the terms that must fall (measured, seed 0, float32
# main phase, each part minimising its own terms: flow ÷ 4.0, ions ÷ 66 with Poisson ÷ 73 and NP
# ÷ 23 / ÷ 106; the bound ÷ 2 keeps margins of 2× and 33×) and the term that cannot move because
# it sees only the frozen part.
POLISHED_BLOCKS = {
    "flow": ({"flow"}, ("stokes_x", "stokes_y", "continuity"), "poisson"),  # (NP moves: it advects with u)
    "ions": ({"psi", "c_plus", "c_minus"}, ("poisson", "np_plus", "np_minus"), "continuity"),
}


# The quick problem's terms (periodic, no-flux hard walls) that each part's polish minimises.
OWN_TERMS = {"flow": {"stokes_x", "stokes_y", "continuity"}, "ions": {"poisson", "np_plus", "np_minus", "wall_ions"}}


@pytest.mark.parametrize("polish_blocks", tuple(POLISHED_BLOCKS))
def test_a_block_polish_moves_its_blocks_alone(quick_problem, small_settings, polish_blocks):
    """[pinn.polish] blocks = "flow" / "ions": over the phase the other blocks stay as the main phase
    left them, the polished ones move and lower their own equations' terms."""
    moving, falling, fixed = POLISHED_BLOCKS[polish_blocks]
    settings = replace(small_settings, {"steps": 36, "polish.steps": 20, "polish.dtype": "float64",
                                        "polish.blocks": polish_blocks})
    trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=settings), settings), settings)
    for _ in range(16):
        trainer.train_step()
    blocks = trainer.model.networks.blocks
    before = {name: [p.detach().clone() for p in block.parameters()] for name, block in blocks.items()}
    first = dict(zip(trainer.term_names, trainer.train_step().tolist()))
    assert trainer.polishing and trainer.dtype == torch.float64
    # The phase minimises its part's own equations alone: the other part's terms weigh nothing.
    minimised = {name for name, on in zip(trainer.term_names, trainer.polish_mask.tolist()) if on}
    assert minimised == OWN_TERMS[polish_blocks]
    for _ in range(19):
        last = dict(zip(trainer.term_names, trainer.train_step().tolist()))
    for name, block in blocks.items():
        same = all(torch.equal(a.double(), b) for a, b in zip(before[name], block.parameters()))
        assert same == (name not in moving), name
    # The frozen blocks' jets are formed once on the phase's fixed points: the same terms as afresh.
    assert trainer.model.networks.held == set(blocks) - moving
    held = trainer._terms(trainer.points)
    trainer.model.networks.hold(())
    assert torch.equal(held, trainer._terms(trainer.points))
    assert sum(last[k] for k in falling) < 0.5 * sum(first[k] for k in falling)
    assert last[fixed] == pytest.approx(first[fixed], rel=1e-12)


def test_the_continuity_factor_multiplies_continuitys_frozen_weight(quick_problem, small_settings):
    """[pinn.polish] continuity_factor f: over the phase the continuity term weighs f times the
    weight the main phase left it, every other term of the part as it was."""
    masks = {}
    for factor in (1.0, 10.0):
        settings = replace(small_settings, {"steps": 6, "polish.steps": 2, "polish.blocks": "flow",
                                            "polish.continuity_factor": factor})
        trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=settings), settings),
                                         settings)
        for _ in range(5):
            trainer.train_step()
        masks[factor] = dict(zip(trainer.term_names, trainer.polish_mask.tolist()))
    assert masks[10.0] == {**masks[1.0], "continuity": 10.0} and masks[1.0]["continuity"] == 1.0
    with pytest.raises(SettingError, match=r"polish\.continuity_factor"):
        replace(small_settings, {"polish.continuity_factor": 0.0})


def test_an_lbfgs_step_that_ends_on_a_non_finite_loss_is_undone(quick_problem, small_settings):
    """A line search that lands where the loss is NaN: the next step finds it, puts the parameters
    back where that step started, restarts L-BFGS and goes on with finite losses."""
    settings = replace(small_settings, {"steps": 12, "polish.steps": 6, "polish.dtype": "float64"})
    trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=settings), settings), settings)
    for _ in range(8):
        trainer.train_step()
    assert trainer.polishing and trainer.restarts == 0
    started = [p.detach().clone() for p in trainer.params]
    previous = [p.clone() for p in trainer.before_closure_step]
    with torch.no_grad():  # what a bad trial step leaves behind
        trainer.params[0][0, 0] = float("nan")
    terms = trainer.train_step()
    assert trainer.restarts == 1 and torch.isfinite(terms).all()
    # This step started from where the bad one had started.
    assert all(torch.equal(a, b) for a, b in zip(previous, trainer.before_closure_step))
    for _ in range(3):
        assert torch.isfinite(trainer.train_step()).all()
    assert all(torch.isfinite(p).all() for p in trainer.params)
    assert not all(torch.equal(a, b) for a, b in zip(started, trainer.params))
    # The run's last step, undone by finish(): the final row is at the restored parameters.
    previous = [p.clone() for p in trainer.before_closure_step]
    with torch.no_grad():
        trainer.params[0][0, 0] = float("nan")
    trainer._window = [0.0, 0]  # (set by Trainer.run, which this test steps around)
    trainer.finish()
    assert trainer.restarts == 2 and math.isfinite(trainer.history[-1]["loss"])
    assert all(torch.equal(a, b) for a, b in zip(previous, trainer.params))


def test_the_psi_base_without_the_flow_base_is_warned_about():
    """The combination measured to stall (method.md, "The recipe ablation at 1500 steps") says so
    when a run is set up; the recipe and the paper's layout (no bases) do not."""
    import warnings

    from eofpinn.solvers.pinn.channel import PSI_BASE_ALONE

    case = case_from_problem(straight_problem(0.1, 1.0, 1.0), name="warned")
    for psi_base, flow_base, warned in (("gouy_chapman", "none", True), ("gouy_chapman", "electroosmotic", False),
                                        ("linear", "none", False)):
        settings = replace(case.pinn, {"formulation.psi_base": psi_base, "formulation.flow_base": flow_base})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ChannelTask(case, settings)
        assert [str(w.message) for w in caught] == ([PSI_BASE_ALONE] if warned else [])


def _salt_variant(valences, zeta_hat):
    """straight_channel with another salt, ζ̂ on both walls and Boltzmann walls (hard ions)."""
    import dataclasses

    from eofpinn.cases import load_case

    problem = dataclasses.replace(load_case("straight_channel").problem, valence_plus=valences[0],
                                  valence_minus=valences[1], ion_wall="boltzmann")
    walls = {wall: tuple(dataclasses.replace(s, zeta_hat=zeta_hat) for s in getattr(problem, wall))
             for wall in ("zeta_bottom", "zeta_top")}
    return case_from_problem(dataclasses.replace(problem, **walls), name=f"salt_{valences[0]:g}_{-valences[1]:g}")


def test_every_salt_starts_from_its_own_double_layer_without_a_warning():
    """A 3:1 and a 1:3 salt (no closed-form layer: found numerically, physics/salt_layer.py) set up
    without a warning, as 1:1, 2:1 and 1:2 salts do, and the ψ base of the task's model is the
    salt's own: within 1e-4 of the exact straight-channel profile at ε = 0.1 (measured 2.9e-5, the two
    walls' layers superposed; the z:z layer these salts took before is 0.24 off)."""
    import warnings

    from eofpinn.cases import load_case
    from eofpinn.physics.exact import poisson_boltzmann

    for case in (_salt_variant((3.0, -1.0), -1.5), _salt_variant((1.0, -3.0), 1.5), load_case("cacl2_channel"),
                 load_case("quickstart")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            task = ChannelTask(case, case.pinn)
        assert [str(w.message) for w in caught] == [], case.name
        model = task.build_model(torch.Generator().manual_seed(0)).double()
        solution = task.solution(model, torch.device("cpu"), torch.float64, {"steps": 0})
        assert "warnings" not in solution.info, case.name
    for valences, zeta in (((3.0, -1.0), -1.5), ((1.0, -3.0), 1.5)):
        problem = _salt_variant(valences, zeta).problem
        y = torch.linspace(0.0, 1.0, 101, dtype=torch.float64)
        points = torch.stack((torch.full_like(y, 0.3), y), dim=1)
        form = ChannelTask(case_from_problem(problem, name="salt"), load_case("straight_channel").pinn)
        base = form.build_model(torch.Generator().manual_seed(0)).double().formulation.psi_wall_jet(points)[0]
        exact = torch.from_numpy(poisson_boltzmann(y.numpy(), problem.debye_ratio, zeta, valences=valences)[0])
        assert float((base - exact).abs().max()) < 1e-4, valences


def test_an_untrained_pinn_on_a_2_1_salt_starts_at_the_salts_double_layers():
    """ψ starts from the salt's own Gouy–Chapman layers and c± = exp(N± − ẑ± ψ) are its Boltzmann
    ions, so before any training the PINN is within 2e-3 of the exact solution (measured
    relative L2 at most 7e-4 over ψ, c±, u, p; with the z:z layer and e^{∓ψ}, cacl2_channel
    started at 0.31 and ended, after 5000 steps, at ψ 12)."""
    from eofpinn import solve
    from eofpinn.cases import load_case
    from eofpinn.validation.compare import field_errors

    cases = (load_case("cacl2_channel"), _salt_variant((1.0, -2.0), 1.5), _salt_variant((2.0, -1.0), -2.0),
             _salt_variant((1.0, -2.0), -2.0))
    for case in cases:
        task = ChannelTask(case, case.pinn)
        model = task.build_model(torch.Generator().manual_seed(0)).double()
        solution = task.solution(model, torch.device("cpu"), torch.float64, {"steps": 0})
        errors = field_errors(solution, solve(case, "exact"))
        worst = max(errors[name]["relative_l2"] for name in ("psi", "c_plus", "c_minus", "u", "p"))
        assert worst < 2e-3, (case.name, errors)


def test_the_progress_bar_says_the_first_step_waits_for_the_compiler(capsys, quick_problem, small_settings):
    """A compiled run's bar names the compilation until the first history row replaces it."""
    for flag in (True, False):
        settings = replace(small_settings, {"compile": flag})
        trainer = trainer_module.Trainer(ChannelTask(case_from_problem(quick_problem, pinn=settings), settings), settings)
        bar = trainer_module.ProgressBar()
        bar.started(trainer)
        assert (trainer_module.COMPILING in capsys.readouterr().err) == flag
        bar.logged(trainer, {"loss": 1.0})
        bar.finished(trainer)
        assert trainer_module.COMPILING not in capsys.readouterr().err.rsplit("\r", 1)[-1]


def test_a_drifted_ion_exponent_is_moved_out_of_the_network_without_changing_the_fields():
    """The exact content gauge leaves the constant of N± free (cacl2_channel's N₊ walked to 74 and
    overflowed float32 at step 4241): recentre_ions moves it back once |ln⟨c± e^{ẑ±ψ}⟩| > 1, and
    the gauged fields stay the same (float64: to 1e-12); within the limit, or with hard ions,
    nothing moves."""
    from eofpinn.cases import load_case

    case = load_case("cacl2_channel")
    task = ChannelTask(case, case.pinn)
    model = task.build_model(torch.Generator().manual_seed(0)).double()
    sampled = task.sample(torch.Generator().manual_seed(1))
    points = type(sampled).from_state_dict(sampled.state_dict(), torch.device("cpu"), torch.float64)
    task.bind(model, points)
    grid = points.interior[:200]
    assert model.recentre_ions() == []
    bias = model.networks.blocks["c_plus"].layers[-1].bias
    with torch.no_grad():
        bias[0] += 30.0
    drifted = model.values(grid)
    assert model.recentre_ions() == ["c_plus"]
    with torch.no_grad():
        fields = model._raw_values(points.interior[:points.n_uniform])
    assert abs(float(torch.log(torch.mean(fields["c_plus"][0] * torch.exp(2.0 * fields["psi"][0]))))) < 1e-12
    recentred = model.values(grid)
    for name in ("psi", "c_plus", "c_minus", "u", "P"):
        assert torch.allclose(recentred[name], drifted[name], rtol=1e-12, atol=0.0), name
    hard = _salt_variant((2.0, -1.0), -2.0)  # Boltzmann walls: the ions are hard, no free constant
    hard_task = ChannelTask(hard, hard.pinn)
    hard_model = hard_task.build_model(torch.Generator().manual_seed(0)).double()
    hard_task.bind(hard_model, hard_task.sample(torch.Generator().manual_seed(1)))
    with torch.no_grad():
        hard_model.networks.blocks["c_plus"].layers[-1].bias[0] += 30.0
    assert hard_model.recentre_ions() == []


def test_the_ions_are_recentred_one_step_after_the_balancer_updates_its_weights():
    """A move sets the gauge's scale to 1, which changes the float32 rounding of terms at their
    floor (wall_ions 2.6e-7 → 2.3e-15 on nanochannel_conductance); a balancer update in the same
    step gave that term a weight 10⁴ times too large. So the task moves the constant at steps 1,
    101, 201, …: never at a step of the default balancer's updates (every 100 steps)."""
    from eofpinn.cases import load_case
    from eofpinn.solvers.pinn.balancing import GradNorm

    case = load_case("cacl2_channel")
    task = ChannelTask(case, case.pinn)
    model = task.build_model(torch.Generator().manual_seed(0)).double()
    task.bind(model, task.sample(torch.Generator().manual_seed(1)))
    bias = model.networks.blocks["c_plus"].layers[-1].bias
    with torch.no_grad():
        bias[0] += 5.0
    balancer = GradNorm(GradNorm.Options())
    state = balancer.init(["poisson"])
    shifted = float(bias[0])
    for step in (0, 100, 200, 4500):
        assert balancer.needs_gradients(state, step)
        task.before_step(model, step)
        assert float(bias[0]) == shifted
    task.before_step(model, 4501)
    assert not balancer.needs_gradients(state, 4501)
    assert float(bias[0]) < shifted - 4.0


@pytest.mark.parametrize("name, every, moves_at", [("gn", 30, 31), ("lra", 7, 8), ("relobralo", None, 101)])
def test_the_ions_are_recentred_one_step_after_any_balancer_period(name, every, moves_at):
    """The period follows the balancer's own `every` (a user's 30 puts no move at steps 0, 30,
    60, …, where GN measures); a balancer without one (ReLoBRaLo, every step) keeps 100."""
    from eofpinn.cases import load_case
    from eofpinn.cases.pinn_settings import replace

    case = load_case("cacl2_channel")
    options = {"balancing.name": name} | ({"balancing.every": every} if every else {})
    task = ChannelTask(case, replace(case.pinn, options))
    model = task.build_model(torch.Generator().manual_seed(0)).double()
    task.bind(model, task.sample(torch.Generator().manual_seed(1)))
    bias = model.networks.blocks["c_plus"].layers[-1].bias
    shifted = float(bias[0]) + 5.0
    moved = []
    for step in range(moves_at + 1):
        with torch.no_grad():
            bias[0] = shifted
        task.before_step(model, step)
        if float(bias[0]) < shifted - 4.0:
            moved.append(step)
    assert moved == [1, moves_at]
