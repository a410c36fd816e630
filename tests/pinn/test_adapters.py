"""Per-loss adapters (eofpinn/solvers/pinn/adapters.py): they start from the trunk, route each
term's gradient into its own adapter, resume exactly, and are what the solution is made of."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
import torch

from eofpinn.cases import case_from_problem, load_case
from eofpinn.cases.pinn_settings import replace
from eofpinn.errors import CaseError, SolverError
from eofpinn.pinn_runs import load_checkpoint, run_in_directory, save_checkpoint
from eofpinn.solvers.pinn import ChannelTask
from eofpinn.solvers.pinn.adapters import adapter_parameter_count, mlp_blocks
from eofpinn.solvers.pinn.conflict import per_term_gradients
from eofpinn.solvers.pinn.networks import mlp_values
from eofpinn.solvers.pinn.trainer import Trainer

QUICKSTART = Path(__file__).resolve().parents[2] / "cases" / "quickstart.toml"
ADAPTERS = {"network.adapters": "per_loss", "network.adapter_rank": 3}


def _history(out_dir) -> list[dict[str, float]]:
    with open(out_dir / "history.csv") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def _trainer(problem, settings, changes) -> Trainer:
    settings = replace(settings, changes)
    return Trainer(ChannelTask(case_from_problem(problem, pinn=settings), settings), settings)


def test_a_run_starts_from_its_trunk(quick_problem, small_settings):
    plain = _trainer(quick_problem, small_settings, {})
    adapted = _trainer(quick_problem, small_settings, ADAPTERS)
    k, blocks = len(adapted.term_names), mlp_blocks(adapted.model)
    # K adapters of rank 3 on each of the (depth − 1) = 1 hidden-to-hidden 16 × 16 weights of 4 blocks;
    # K = 7: six PDE terms and the wall ions (the gauges are exact, hence no gauge terms).
    assert adapter_parameter_count(adapted.model) == k * 3 * (16 + 16) * 1 * len(blocks) == 7 * 96 * 4
    assert sum(p.numel() for p in adapted.params) == sum(p.numel() for p in plain.params) + 2688
    trunk = {n: t for n, t in adapted.model.state_dict().items() if ".adapters." not in n}
    assert trunk.keys() == plain.model.state_dict().keys()
    assert all(torch.equal(t, plain.model.state_dict()[n]) for n, t in trunk.items())
    assert torch.equal(adapted.points.stacked()[0], plain.points.stacked()[0])  # same random streams
    # B_k = 0: the same loss terms to the last bit, and A_k ≠ 0 so that ∇_{B_k} L_k ≠ 0.
    assert torch.equal(adapted.terms_fn(adapted.points), plain.terms_fn(plain.points))
    layer = blocks[0].adapters["1"]
    assert all(not b.any() for b in layer.b) and all(a.abs().min() > 0 for a in layer.a)


def _captured_step(trainer: Trainer) -> dict[int, torch.Tensor]:
    """p.grad of every parameter as the optimiser receives it in the next train_step."""
    seen = {}
    original = trainer.optimizer.step

    def spy(*args, **kwargs):
        seen.update({id(p): p.grad.clone() for p in trainer.params})
        return original(*args, **kwargs)

    trainer.optimizer.step = spy
    trainer.train_step()
    trainer.optimizer.step = original
    return seen


@pytest.mark.parametrize("weighting", ("gn", "none"))
def test_routed_adapter_k_receives_the_projection_of_its_own_term_gradient(quick_problem, small_settings, weighting):
    trainer = _trainer(quick_problem, small_settings, {**ADAPTERS, "balancing.name": weighting,
                                                       **({"balancing.every": 3} if weighting == "gn" else {})})
    for _ in range(4):  # B_k ≠ 0 from here on; step 3 is a GN update, step 4 is not
        trainer.train_step()
    block = mlp_blocks(trainer.model)[0]
    layer, weight = block.adapters["1"], block.layers[1].weight
    # Independently: ∂L_k/∂W_eff = ∂L_k/∂W (W enters only through W_eff), one term at a time.
    terms = trainer.terms_fn(trainer.points)
    d_weff = [torch.autograd.grad(t, weight, retain_graph=True)[0] for t in terms]
    full = per_term_gradients(list(terms), trainer.params)
    weights = trainer.weights.clone()
    before = [(a.detach().clone(), b.detach().clone()) for a, b in zip(layer.a, layer.b)]  # θ_4
    step = _captured_step(trainer)
    moved = [k for k, (_, b4) in enumerate(before) if b4.abs().max() > 0]
    assert len(moved) >= 6  # the others (e.g. pressure_gauge) do not depend on the ψ block at all
    for k, ((a, b), (a4, b4)) in enumerate(zip(zip(layer.a, layer.b), before)):
        torch.testing.assert_close(step[id(b)], weights[k] * d_weff[k] @ a4.T, rtol=1e-9, atol=1e-14)
        torch.testing.assert_close(step[id(a)], weights[k] * b4.T @ d_weff[k], rtol=1e-9, atol=1e-14)
    # The trunk gets Σ λ_i ∇L_i: compare the whole trunk part with the unrouted per-term gradients.
    offset = 0
    for p in trainer.params:
        if id(p) not in trainer.routing.owner:
            expected = (weights @ torch.stack([g[offset:offset + p.numel()] for g in full])).view_as(p)
            torch.testing.assert_close(step[id(p)], expected, rtol=1e-9, atol=1e-14)
        offset += p.numel()


def test_routed_term_gradients_mask_the_other_adapters(quick_problem, small_settings):
    trainer = _trainer(quick_problem, small_settings, ADAPTERS)
    for _ in range(2):
        trainer.train_step()
    terms = trainer.terms_fn(trainer.points)
    routed, full = trainer.term_gradients(terms), per_term_gradients(list(terms), trainer.params)
    offset = 0
    for p in trainer.params:
        owner = trainer.routing.owner.get(id(p))
        for k in range(len(terms)):
            part, whole = routed[k][offset:offset + p.numel()], full[k][offset:offset + p.numel()]
            if owner is None or owner == k:
                torch.testing.assert_close(part, whole, rtol=1e-9, atol=1e-14)
            else:
                assert not part.any()
        offset += p.numel()


def test_unrouted_adapters_get_the_weighted_sum_gradient(quick_problem, small_settings):
    trainer = _trainer(quick_problem, small_settings, {**ADAPTERS, "network.adapter_routing": "unrouted",
                                                       "balancing.every": 2})
    assert trainer.routing is None
    for _ in range(3):
        trainer.train_step()
    terms = trainer.terms_fn(trainer.points)
    full = torch.stack(per_term_gradients(list(terms), trainer.params))
    expected = trainer.weights @ full
    step = _captured_step(trainer)
    got = torch.cat([step[id(p)].reshape(-1) for p in trainer.params])
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-14)


def test_the_solution_is_trunk_plus_all_adapters(quick_problem, small_settings):
    trainer = _trainer(quick_problem, small_settings, {**ADAPTERS, "steps": 6})
    trainer.train()
    block = mlp_blocks(trainer.model)[3]  # the flow block
    z = torch.rand(7, block.layers[0].in_features, dtype=torch.float64)
    layers = [(layer.weight.detach(), layer.bias.detach()) for layer in block.layers]
    adapters = block.adapters["1"]
    merged = layers[1][0] + sum(b.detach() @ a.detach() for a, b in zip(adapters.a, adapters.b))
    with torch.no_grad():
        out = block(z)
    torch.testing.assert_close(out, mlp_values([layers[0], (merged, layers[1][1]), *layers[2:]], z))
    assert (out - mlp_values(layers, z)).abs().max() > 1e-8  # the adapters did move


@pytest.mark.parametrize("routing", ("routed", "unrouted"))
def test_resume_with_adapters_continues_the_same_curve(tmp_path, quick_problem, small_settings, routing):
    settings = replace(small_settings, {**ADAPTERS, "network.adapter_routing": routing, "steps": 16,
                                        "records.checkpoint_every": 8, "balancing.every": 3,
                                        "optimizer.precondition_frequency": 3, "records.snapshot_every": 8})
    case = case_from_problem(quick_problem, pinn=settings)
    run_in_directory(case, tmp_path / "straight", settings, progress=False)
    run_in_directory(case, tmp_path / "split", replace(settings, {"steps": 8}), progress=False)
    run_in_directory(case, tmp_path / "split", settings, resume=tmp_path / "split", progress=False)
    straight, split = _history(tmp_path / "straight"), _history(tmp_path / "split")
    assert [r["step"] for r in split] == list(range(17))
    assert any(k.startswith("gnorm_") for k in split[0]) and any(k.startswith("cos_") for k in split[0])
    for a, b in zip(straight, split):
        for key in a:
            if key.startswith(("loss", "weight_", "err_", "grad_alignment", "cos_", "gnorm_")):
                assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-300), (a["step"], key)
    state = load_checkpoint(tmp_path / "split")
    assert any(".adapters." in name for name in state["model"])
    assert sorted(p.name for p in (tmp_path / "split" / "snapshots").iterdir()) == [
        "step_000000.vts", "step_000008.vts", "step_000016.vts"]
    # Changing the adapters of a checkpointed run is refused (the [pinn.network] section is structural).
    other = replace(settings, {"network.adapters": "none", "steps": 20})
    with pytest.raises(SolverError, match=r"settings changed \(adapters: 'per_loss' → 'none'\)"):
        run_in_directory(case, tmp_path / "split", other, resume=tmp_path / "split", progress=False)


def test_a_checkpoint_from_before_the_adapter_keys_still_resumes(tmp_path, quick_problem, small_settings):
    settings = replace(small_settings, {"steps": 6, "records.checkpoint_every": 3})
    case = case_from_problem(quick_problem, pinn=settings)
    run_in_directory(case, tmp_path / "run", replace(settings, {"steps": 3}), progress=False)
    state = load_checkpoint(tmp_path / "run")
    for key in ("adapters", "adapter_rank", "adapter_routing"):
        del state["settings"]["network"][key]
    save_checkpoint({k: v for k, v in state.items() if k != "source"}, tmp_path / "run" / "checkpoint.pt")
    solution = run_in_directory(case, tmp_path / "run", settings, resume=tmp_path / "run", progress=False)
    assert solution.info["steps"] == 6


def test_adapter_settings_are_validated(tmp_path):
    text = QUICKSTART.read_text()
    assert "[pinn.network]\n" in text

    def load(lines: str):
        path = tmp_path / "case.toml"
        path.write_text(text.replace("[pinn.network]\n", "[pinn.network]\n" + lines))
        return load_case(path)

    network = load('adapters = "per_loss"\nadapter_rank = 8\nadapter_routing = "unrouted"\n').pinn.network
    assert (network.adapters, network.adapter_rank, network.adapter_routing) == ("per_loss", 8, "unrouted")
    assert dataclasses.asdict(load_case(QUICKSTART).pinn.network)["adapters"] == "none"
    for lines, message in (
            ('adapters = "lora"\n', r"\[pinn.network.adapters\] must be one of 'none', 'per_loss'; got 'lora'$"),
            ("adapter_rank = 0\n", r"\[pinn.network.adapter_rank\] must be an integer in \[1, 1024\]; got 0$"),
            ('adapters = "per_loss"\nadapter_rank = 65\n',
             r"\[pinn.network.adapter_rank\] must be at most width = 64 \(a rank above the width adds nothing\); "
             r"got 65$"),
            ('adapter_routing = "sometimes"\n',
             r"\[pinn.network.adapter_routing\] must be one of 'routed', 'unrouted'; got 'sometimes'$")):
        with pytest.raises(CaseError, match=message):
            load(lines)
    path = tmp_path / "case.toml"
    path.write_text(text.replace("depth = 4", "depth = 1").replace("[pinn.network]\n",
                                                                   '[pinn.network]\nadapters = "per_loss"\n'))
    with pytest.raises(CaseError, match=r"\[pinn.network.adapters\] must be 'per_loss' with depth ≥ 2"):
        load_case(path)
