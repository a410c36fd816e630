"""How close can the networks get to FD at all? Fit them to FD, with no physics, then look.

A PINN run of a 2D case ends 1e-3 – 1e-1 off FD (method.md "What the PINN still gets wrong").
That is an optimisation failure (the loss has a minimum near FD's solution that training does
not reach), or a loss that cannot see the error (a state farther from FD scores as well or
better at the networks' size and the points' density), or networks that cannot get closer in
the budget even when they are shown the answer. This script tells them apart on one case:

1. It solves nothing new: it reads an FD run of the case (`eofpinn solve CASE --out FD_RUN`) and
   fits the networks of the case's own [pinn] settings to it by least squares on the FD nodes —
   ψ, the Slotboom exponents N± = ln c± + ẑ± ψ (what the c± blocks carry: their x-variation is
   what the flow feels), u, v and the excess pressure P, each relative to its own norm (the FD
   trapezoid weights), or those of `--fields` — with Adam, the case's own optimiser or
   Levenberg–Marquardt (`--first lm`, `levenberg_marquardt`), then L-BFGS, in float64.
2. It writes the fitted networks as a run directory (`--out`, a checkpoint and the case), which
   `eofpinn solve CASE --solver pinn --init DIR --reference FD_RUN` trains on with the physics
   loss alone: its history says whether training stays near FD or walks off to where the
   recipe's runs end. `validation/flow_from_ions.py DIR` reads it like any run.
3. It prints the fitted networks' errors against FD and each loss term of the case at the
   fitted state, over several fresh draws of collocation points; with `--compare RUN` the same
   terms of a trained run beside them.

    python validation/pinn_from_fd.py CASE FD_RUN --out DIR [--fields v] [--first adam|recipe|lm]
        [--steps N] [--budget S] [--lbfgs N] [--set KEY=VALUE] [--compare RUN]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `validation.*`, eofpinn

from eofpinn.cases import load_case, parse_value  # noqa: E402
from eofpinn.cases.pinn_settings import replace  # noqa: E402
from eofpinn.io import read_run  # noqa: E402
from eofpinn.physics.exact import osmotic_pressure  # noqa: E402
from eofpinn.pinn_runs import save_checkpoint  # noqa: E402
from eofpinn.solution import trapezoid_weights  # noqa: E402
from eofpinn.solvers.pinn.channel import ChannelTask  # noqa: E402
from eofpinn.solvers.pinn.evaluation import Evaluator, grid_points  # noqa: E402
from eofpinn.solvers.pinn.formulation import apply_gauges, values_as_jets  # noqa: E402
from eofpinn.solvers.pinn.optimizers import learning_rate, make_optimizer  # noqa: E402
from eofpinn.solvers.pinn.trainer import Trainer  # noqa: E402
from validation.levenberg_marquardt import levenberg_marquardt, require_block_weights_only  # noqa: E402
from validation.pinn_generalization import fresh_points, loss_terms_at, trained  # noqa: E402

FITTED = ("psi", "N_plus", "N_minus", "u", "v", "P")
FRESH_SEEDS = (101, 102, 103)


def fit_targets(problem, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the fit matches, from FD's node fields: ψ, N± = ln c± + ẑ± ψ, u, v and P = p − Π."""
    z_plus, z_minus = problem.valences
    return {
        "psi": fields["psi"], "u": fields["u"], "v": fields["v"],
        "N_plus": np.log(fields["c_plus"]) + z_plus * fields["psi"],
        "N_minus": np.log(fields["c_minus"]) + z_minus * fields["psi"],
        "P": fields["p"] - osmotic_pressure(problem, fields["c_plus"], fields["c_minus"]),
    }


def field_jets(model, points: torch.Tensor) -> dict[str, torch.Tensor]:
    """The model's field jets with gradients: plain values (derivative rows zero), or with a
    stream-function flow the full jets (u and v are derivatives of Ψ)."""
    if model.formulation.stream:
        return model.formulation.fields(model.networks.raw_jets(points, model.derivatives), points, model.field,
                                        model.volume_flux)
    return model._raw_values(points)


def model_targets(model, problem, points: torch.Tensor, outlet: torch.Tensor) -> dict[str, torch.Tensor]:
    """The same quantities from the model (with gradients). With periodic ends the outlet gauge
    of P is applied over the `outlet` points, as the model applies it (ChannelTask.bind); reservoir
    ends fix P themselves. The ion-content gauge of a periodic no-flux channel is left out: FD's
    ions satisfy it already, so the fitted g± keep their mean of 1."""
    values = field_jets(model, points)
    if problem.ends == "periodic" and model.formulation.exact_gauges:
        values = apply_gauges(values, None, (field_jets(model, outlet), outlet[:, 1]), model.formulation.valences)
    return value_targets({name: value[0] for name, value in values.items()}, problem)


def value_targets(v: dict[str, torch.Tensor], problem) -> dict[str, torch.Tensor]:
    """The fitted quantities from the model's field values (`fit_targets` on the network side)."""
    z_plus, z_minus = problem.valences
    return {"psi": v["psi"], "u": v["u"], "v": v["v"], "P": v["P"],
            "N_plus": torch.log(v["c_plus"]) + z_plus * v["psi"],
            "N_minus": torch.log(v["c_minus"]) + z_minus * v["psi"]}


def lm_fit(model, problem, points: torch.Tensor, targets: dict, norms: dict, weights: torch.Tensor,
           fields: tuple[str, ...], iterations: int, budget: float | None) -> None:
    """Fit `fields` by Levenberg–Marquardt on the blocks' parameters, in place. The residual
    r = √(w/‖t‖²)(model − t) stacks the fitted quantities; its Jacobian is formed point by point:
    every quantity at a node depends on the blocks' outputs at that node alone (no gauge), so
    J = (∂r/∂outputs)(∂outputs/∂θ), the first from one forward-mode pass per block output, the
    second by vmap over the nodes. Quantities that share no block are separate problems (ψ, N±
    and the flow's u, v, P each depend on one block), fitted one after the other, each with
    `iterations` and `budget`."""
    if problem.ends == "periodic" and model.formulation.exact_gauges and "P" in fields:
        raise SystemExit("pinn_from_fd: --first lm needs node-by-node targets; the periodic pressure gauge of P "
                         "couples the nodes (fit without P, or use --first adam)")
    if model.formulation.stream:
        raise SystemExit("pinn_from_fd: --first lm fits block values; with flow \"stream\" u and v are derivatives")
    require_block_weights_only(model, "pinn_from_fd: --first lm")
    blocks = model.networks.blocks
    with torch.no_grad():
        inputs = model.networks._block_inputs(model.networks.embedding, points)
    theta = {name: {n: p.detach().clone() for n, p in block.named_parameters()} for name, block in blocks.items()}

    def outputs_of(params: dict[str, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        return {name: torch.func.functional_call(block, params[name], (inputs[name],)) for name, block in blocks.items()}

    def residual_of(outputs: dict[str, torch.Tensor], group: tuple[str, ...]) -> torch.Tensor:
        jets = model.formulation.fields(values_as_jets(outputs), points, model.field, model.volume_flux)
        values = {k: v[0] for k, v in jets.items()}
        got = value_targets(values, problem)
        return torch.cat([torch.sqrt(weights / norms[k]) * (got[k] - targets[k]) for k in group])

    def sensitivity(outputs: dict[str, torch.Tensor], name: str, group: tuple[str, ...]) -> torch.Tensor:
        """∂r/∂(block `name`'s outputs), (quantities, N, K): node by node, one forward-mode pass per output."""
        d = []
        for k in range(outputs[name].shape[1]):
            tangent = {n: torch.zeros_like(o) for n, o in outputs.items()}
            tangent[name][:, k] = 1.0
            d.append(torch.func.jvp(lambda o: residual_of(o, group), (outputs,), (tangent,))[1])
        return torch.stack(d, dim=1).reshape(len(group), -1, len(d))

    # Which blocks each quantity depends on; quantities linked through a block are fitted together.
    with torch.no_grad():
        start = outputs_of(theta)
    reach = {k: {name: float(sensitivity(start, name, (k,)).abs().max()) for name in blocks} for k in fields}
    # (relative to the largest: N± = ln c± + ẑ±ψ cancels ψ only to rounding)
    depends = {k: {name for name, d in r.items() if d > 1e-9 * max(r.values())} for k, r in reach.items()}
    groups: list[tuple[set, set]] = []  # (quantities, blocks)
    for k in fields:
        joined = [g for g in groups if g[1] & depends[k]]
        quantities, moving = {k}.union(*(g[0] for g in joined)), set(depends[k]).union(*(g[1] for g in joined))
        groups = [g for g in groups if g not in joined] + [(quantities, moving)]

    for quantities, moving in groups:
        group = tuple(k for k in fields if k in quantities)
        moving = [name for name in blocks if name in moving]
        sizes = [(name, n, p.shape) for name in moving for n, p in theta[name].items()]

        def unflatten(flat: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
            out, k = {name: dict(params) for name, params in theta.items()}, 0
            for name, n, shape in sizes:
                out[name][n] = flat[k:k + shape.numel()].reshape(shape)
                k += shape.numel()
            return out

        def jacobian(flat: torch.Tensor) -> torch.Tensor:
            params = unflatten(flat)
            outputs = {name: out.detach() for name, out in outputs_of(params).items()}
            columns = []
            for name in moving:
                def at_point(p, z, block=blocks[name]):
                    return torch.func.functional_call(block, p, (z[None],))[0]
                per_point = torch.func.vmap(torch.func.jacrev(at_point), in_dims=(None, 0))(params[name], inputs[name])
                g = torch.cat([j.reshape(j.shape[0], j.shape[1], -1) for j in per_point.values()], dim=2)  # (N, K, P)
                d = sensitivity(outputs, name, group)
                columns.append(torch.einsum("fnk,nkp->fnp", d, g).reshape(-1, g.shape[2]))
            return torch.cat(columns, dim=1)

        print(f"LM on {','.join(group)}: blocks {','.join(moving)}", flush=True)
        flat = torch.cat([theta[name][n].reshape(-1) for name, n, _ in sizes])
        flat = levenberg_marquardt(lambda f: residual_of(outputs_of(unflatten(f)), group), jacobian, flat, iterations,
                                   budget, log=lambda text: print(text, flush=True))
        theta = unflatten(flat)
    with torch.no_grad():
        for name, block in blocks.items():
            for n, p in block.named_parameters():
                p.copy_(theta[name][n])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case")
    parser.add_argument("fd_run")
    parser.add_argument("--out", required=True, help="run directory for the fitted networks (refused if it exists)")
    parser.add_argument("--first", choices=("adam", "recipe", "lm"), default="adam",
                        help="the first phase's optimiser: Adam (learning rate 1e-3, then 1e-4 for the last quarter), "
                             "the case's own [pinn.optimizer] (SOAP) with its learning-rate schedule, or "
                             "Levenberg-Marquardt on the networks' parameters (small networks: it forms J^T J)")
    parser.add_argument("--steps", type=int, default=4000, help="steps (LM: iterations) of the first phase")
    parser.add_argument("--budget", type=float, default=None, help="LM: stop after this many seconds")
    parser.add_argument("--lbfgs", type=int, default=500, help="L-BFGS iterations after the first phase")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fields", default=",".join(FITTED), help=f"the fitted quantities (default all: {','.join(FITTED)})")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a [pinn] setting by its dotted key, e.g. network.width=128 (repeatable)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compare", default=None, help="a trained run of the same case: its loss terms beside the fit's")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"pinn_from_fd: {out} exists; choose a new --out")

    case = load_case(args.case)
    problem, settings = case.problem, case.pinn
    changes = {key: parse_value(value) for key, value in (item.split("=", 1) for item in args.set)}
    settings = replace(settings, {**changes, "seed": args.seed, "threads": args.threads})
    torch.set_num_threads(args.threads)
    fields = tuple(args.fields.split(","))
    if not set(fields) <= set(FITTED):
        raise SystemExit(f"pinn_from_fd: --fields takes a comma-separated subset of {','.join(FITTED)}; got {args.fields}")
    fd = read_run(args.fd_run)
    trainer = Trainer(ChannelTask(case, settings, fd), settings)
    model = trainer.model.to(torch.float64)

    points = torch.as_tensor(grid_points(fd.x, fd.y), dtype=torch.float64)
    weights = torch.as_tensor(trapezoid_weights(fd.x, fd.y).ravel(), dtype=torch.float64)
    outlet = torch.as_tensor(np.stack((np.full_like(fd.y, problem.length_ratio), fd.y), axis=1), dtype=torch.float64)
    targets = {k: torch.as_tensor(np.asarray(v).ravel(), dtype=torch.float64)
               for k, v in fit_targets(problem, fd.fields).items()}
    norms = {k: torch.sum(weights * t ** 2) for k, t in targets.items()}

    def errors() -> dict[str, torch.Tensor]:
        got = model_targets(model, problem, points, outlet)
        return {k: torch.sum(weights * (got[k] - targets[k]) ** 2) / norms[k] for k in FITTED}

    def objective() -> torch.Tensor:
        e = errors()
        return sum(e[k] for k in fields)

    params = [p for p in model.parameters() if p.requires_grad]
    start = time.perf_counter()
    if args.first == "lm":
        lm_fit(model, problem, points, targets, norms, weights, fields, args.steps, args.budget)
    else:
        first = torch.optim.Adam(params, lr=1e-3) if args.first == "adam" else make_optimizer(settings.optimizer, params)
        for step in range(args.steps):
            for group in first.param_groups:
                if args.first == "adam":
                    group["lr"] = 1e-4 if step >= (3 * args.steps) // 4 else 1e-3
                else:
                    group["lr"] = learning_rate(settings.optimizer, args.steps, step)
            first.zero_grad()
            loss = objective()
            loss.backward()
            first.step()
            if step % 500 == 0 or step == args.steps - 1:
                print(f"{args.first} {step:6d} loss {loss.item():.3e}  {time.perf_counter() - start:6.0f} s", flush=True)
    lbfgs = torch.optim.LBFGS(params, lr=1.0, max_iter=1, history_size=50, line_search_fn="strong_wolfe",
                              max_eval=25)

    def closure():
        lbfgs.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    for step in range(args.lbfgs):
        loss = lbfgs.step(closure)
        if step % 100 == 0 or step == args.lbfgs - 1:
            print(f"lbfgs {step:5d} loss {loss.item():.3e}  {time.perf_counter() - start:6.0f} s", flush=True)
    with torch.no_grad():
        fit = {k: float(torch.sqrt(e)) for k, e in errors().items()}
    print("fit, relative L2 on the FD nodes: " + "  ".join(f"{k} {e:.2e}" for k, e in fit.items()))

    trainer.model = model.to(trainer.dtype)
    out.mkdir(parents=True)
    shutil.copyfile(Path(args.fd_run) / "case.toml", out / "case.toml")
    save_checkpoint(trainer.state(), out / "checkpoint.pt")
    fitted = trained(out, args.case)
    evaluator = Evaluator(problem, fd, settings.records, fitted.device, fitted.dtype)
    print("errors against FD (as a run's history): "
          + "  ".join(f"{k} {v:.2e}" for k, v in evaluator.errors(fitted.model).items()))
    rows = {"FD fit": fitted}
    if args.compare:
        rows[args.compare] = trained(Path(args.compare), args.case)
    terms = {label: [loss_terms_at(t, fresh_points(t, s)) for s in FRESH_SEEDS] for label, t in rows.items()}
    names = list(next(iter(terms.values()))[0])
    print(f"\nloss terms, mean over {len(FRESH_SEEDS)} fresh draws of the case's points (unweighted)")
    print(f"{'term':16s} " + " ".join(f"{label[-24:]:>24s}" for label in rows))
    for name in names:
        print(f"{name:16s} " + " ".join(f"{np.mean([d[name] for d in terms[label]]):24.3e}" for label in rows))
    return {"fit": fit, "terms": terms}


if __name__ == "__main__":
    main()
