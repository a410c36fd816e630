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
   trapezoid weights), or those of `--fields` — with Adam or the case's own optimiser, then
   L-BFGS, in float64.
2. It writes the fitted networks as a run directory (`--out`, a checkpoint and the case), which
   `eofpinn solve CASE --solver pinn --init DIR --reference FD_RUN` trains on with the physics
   loss alone: its history says whether training stays near FD or walks off to where the
   recipe's runs end. `validation/flow_from_ions.py DIR` reads it like any run.
3. It prints the fitted networks' errors against FD and each loss term of the case at the
   fitted state, over several fresh draws of collocation points; with `--compare RUN` the same
   terms of a trained run beside them.

    python validation/pinn_from_fd.py CASE FD_RUN --out DIR [--fields v] [--first adam|recipe]
        [--steps N] [--lbfgs N] [--set KEY=VALUE] [--compare RUN]
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
from eofpinn.solvers.pinn.formulation import apply_gauges  # noqa: E402
from eofpinn.solvers.pinn.optimizers import learning_rate, make_optimizer  # noqa: E402
from eofpinn.solvers.pinn.trainer import Trainer  # noqa: E402
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
        values = apply_gauges(values, None, field_jets(model, outlet), model.formulation.valences)
    z_plus, z_minus = problem.valences
    v = {name: value[0] for name, value in values.items()}
    return {"psi": v["psi"], "u": v["u"], "v": v["v"], "P": v["P"],
            "N_plus": torch.log(v["c_plus"]) + z_plus * v["psi"],
            "N_minus": torch.log(v["c_minus"]) + z_minus * v["psi"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case")
    parser.add_argument("fd_run")
    parser.add_argument("--out", required=True, help="run directory for the fitted networks (refused if it exists)")
    parser.add_argument("--first", choices=("adam", "recipe"), default="adam",
                        help="the first phase's optimiser: Adam (learning rate 1e-3, then 1e-4 for the last quarter), "
                             "or the case's own [pinn.optimizer] (SOAP) with its learning-rate schedule")
    parser.add_argument("--steps", type=int, default=4000, help="steps of the first phase")
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
    first = torch.optim.Adam(params, lr=1e-3) if args.first == "adam" else make_optimizer(settings.optimizer, params)
    start = time.perf_counter()
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
