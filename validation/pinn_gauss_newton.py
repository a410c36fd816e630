"""Levenberg–Marquardt on the PINN's own loss: a second-order optimiser for the physics.

`validation/pinn_from_fd.py --first lm` shows that small networks (3 × 24) fitted by
Levenberg–Marquardt hold `zeta_step`'s fields, v included, far closer than any first-order or
quasi-Newton optimiser gets them in the same time. This script asks whether the same optimiser
does that on the physics loss, with no data: it trains the case's networks (the case's [pinn]
settings, changed by `--set`) with the case's optimiser for `--soap` steps, then freezes the loss
weights and the points and runs Levenberg–Marquardt (validation/levenberg_marquardt.py) on the
weighted residual vector in float64, printing the loss and the errors against FD as it goes.

The residual vector stacks, for every loss term L_k = Σ mean(r²) with weight λ_k, the residuals
√(λ_k / n) r (losses.recording_residuals); the terms that are not point-by-point mean squares
(flux spreads, section and gauge terms) enter as one row √(λ_k L_k) each. Its Jacobian is formed
through the networks' outputs: each point-by-point residual depends on the blocks' output jets at
its own point alone, so J = (∂r/∂jets)(∂jets/∂θ), the first by one forward-mode pass per output
jet row (and a second that finds each residual's point), the second by vmap over the points;
the one-row terms by reverse mode. The result is checked against a forward-mode product J·v
before the first step.

    python validation/pinn_gauss_newton.py CASE --reference FD_RUN [--soap N] [--lm N] [--budget S]
        [--init RUN] [--blocks flow] [--terms flow|ions|T1,T2,...] [--block-diagonal] [--out DIR]
        [--set KEY=VALUE] [--seed S] [--threads T]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path

import torch
from torch.func import jacrev, jvp, vmap

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `validation.*`, eofpinn

from eofpinn.cases import load_case, parse_value  # noqa: E402
from eofpinn.cases.pinn_settings import replace  # noqa: E402
from eofpinn.io import read_run  # noqa: E402
from eofpinn.pinn_runs import load_checkpoint, save_checkpoint  # noqa: E402
from eofpinn.solvers.pinn.channel import ChannelTask  # noqa: E402
from eofpinn.solvers.pinn.losses import own_terms, recording_residuals, term_residuals  # noqa: E402
from eofpinn.solvers.pinn.networks import mlp_jets  # noqa: E402
from eofpinn.solvers.pinn.trainer import Trainer  # noqa: E402
from validation.levenberg_marquardt import levenberg_marquardt, require_block_weights_only  # noqa: E402


class WeightedResiduals:
    """r(θ) and J(θ) of a trainer's weighted loss at its current points and weights (float64)."""

    def __init__(self, trainer: Trainer, moving: tuple[str, ...] | None = None,
                 terms: tuple[str, ...] | None = None):
        """`moving`: the blocks whose weights are θ (None: all); the others stay as they are.
        `terms`: the loss terms whose residuals make the vector (None: all of the trainer's)."""
        self.trainer, self.model = trainer, trainer.model
        self.terms = tuple(trainer.term_names) if terms is None else tuple(terms)
        unknown = sorted(set(self.terms) - set(trainer.term_names))
        if unknown:
            raise SystemExit(f"pinn_gauss_newton: --terms: no term {', '.join(unknown)} in this case (its terms: "
                             f"{', '.join(trainer.term_names)})")
        blocks = self.model.networks.blocks
        self.moving = tuple(blocks) if moving is None else tuple(moving)
        require_block_weights_only(self.model, "pinn_gauss_newton")
        self.weights = dict(zip(trainer.term_names, trainer.weights.double().tolist()))
        self.batch, _ = trainer.points.stacked()
        with torch.no_grad():
            self.inputs = self.model.networks._block_inputs(self.model.networks.embedding.taylor, self.batch)
        self.layout = [(name, n, p.shape) for name in self.moving for n, p in blocks[name].named_parameters()]
        with torch.no_grad():
            self.frozen = {name: self._jets_of(dict(block.named_parameters()), name)
                           for name, block in blocks.items() if name not in self.moving}
        self.single_rows: list[int] = []

    def block_slices(self) -> list[slice]:
        """Where each block's parameters sit in the flat θ."""
        out, start = [], 0
        for block in (self.model.networks.blocks[name] for name in self.moving):
            size = sum(p.numel() for p in block.parameters())
            out.append(slice(start, start + size))
            start += size
        return out

    def flat(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for name in self.moving
                          for p in self.model.networks.blocks[name].parameters()])

    def load(self, flat: torch.Tensor) -> None:
        with torch.no_grad():
            moving = [p for name in self.moving for p in self.model.networks.blocks[name].parameters()]
            for p, value in zip(moving, self._split(flat)):
                p.copy_(value)

    def _split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        out, k = [], 0
        for _, _, shape in self.layout:
            out.append(flat[k:k + shape.numel()].reshape(shape))
            k += shape.numel()
        return out

    def _block_params(self, flat: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
        out: dict[str, dict[str, torch.Tensor]] = {}
        for (name, n, _), value in zip(self.layout, self._split(flat)):
            out.setdefault(name, {})[n] = value
        return out

    def _jets_of(self, params: dict[str, torch.Tensor], name: str) -> torch.Tensor:
        return _block_jets(params, self.inputs[name])

    def raw_jets(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each block's output jets (rows, N, K): the moving ones from θ, the frozen ones as they are."""
        out = dict(self.frozen)
        for name, params in self._block_params(flat).items():
            out[name] = self._jets_of(params, name)
        return out

    def of_jets(self, raw: dict[str, torch.Tensor]) -> torch.Tensor:
        """The weighted residual vector from the blocks' output jets."""
        model = self.model

        class Given:  # the model, with its blocks' jets given
            def __call__(self, points):
                return model.formulation.fields(raw, points, model.field, model.volume_flux, model.ion_fluxes)

            def __getattr__(self, name):
                return getattr(model, name)

        with recording_residuals() as record:
            terms = self.trainer.task.loss_terms(Given(), self.trainer.points)
        found = term_residuals(terms, record)
        parts, self.single_rows = [], []
        for name in self.terms:
            scale = math.sqrt(self.weights[name])
            if name in found:
                parts += [scale * r.reshape(-1) / math.sqrt(r.numel()) for r in found[name]]
            else:
                self.single_rows.append(sum(p.numel() for p in parts))
                parts.append(scale * torch.sqrt(terms[name]).reshape(1))
        return torch.cat(parts)

    def __call__(self, flat: torch.Tensor) -> torch.Tensor:
        return self.of_jets(self.raw_jets(flat))

    def jacobian(self, flat: torch.Tensor) -> torch.Tensor:
        raw = {name: jet.detach() for name, jet in self.raw_jets(flat).items()}
        n_points = self.batch.shape[0]
        index = torch.arange(1, n_points + 1, dtype=flat.dtype)
        sensitivities, located = [], []
        for name in self.moving:
            jet = raw[name]
            for row in range(jet.shape[0]):
                for k in range(jet.shape[2]):
                    for weight, out in ((torch.ones_like(index), sensitivities), (index, located)):
                        tangent = {n: torch.zeros_like(j) for n, j in raw.items()}
                        tangent[name][row, :, k] = weight
                        out.append(jvp(self.of_jets, (raw,), (tangent,))[1])
        d, dx = torch.stack(sensitivities, 1), torch.stack(located, 1)  # (rows, channels)
        # A point-by-point residual depends on one point's jets: the tangent weighted by the point's
        # number (1, 2, …) gives that number times its sensitivity.
        strongest = d.abs().argmax(1)
        rows = torch.arange(d.shape[0])
        pivot = d[rows, strongest]
        point = (torch.round(dx[rows, strongest] / torch.where(pivot == 0, torch.ones_like(pivot), pivot)).long() - 1)
        point = point.clamp(0, n_points - 1)
        columns, channel = [], 0
        for name, params in self._block_params(flat).items():
            g = vmap(jacrev(_point_jets), in_dims=(None, 1))(params, self.inputs[name])  # per point: (N, rows, K, ·)
            g = torch.cat([v.reshape(v.shape[0], v.shape[1] * v.shape[2], -1) for v in g.values()], dim=2)
            width = raw[name].shape[0] * raw[name].shape[2]
            block_d = d[:, channel:channel + width]
            channel += width
            col = torch.empty(d.shape[0], g.shape[2], dtype=flat.dtype)
            for start in range(0, d.shape[0], 1024):
                stop = start + 1024
                col[start:stop] = torch.einsum("ic,icp->ip", block_d[start:stop], g[point[start:stop]])
            columns.append(col)
        J = torch.cat(columns, dim=1)
        for row in self.single_rows:  # terms over many points: one reverse-mode pass each
            theta = flat.detach().clone().requires_grad_(True)
            J[row] = torch.autograd.grad(self(theta)[row], theta)[0]
        return J


def _block_jets(params: dict[str, torch.Tensor], feature_jets: torch.Tensor) -> torch.Tensor:
    """Output jets (rows, N, K) of a block with `params` (its layers' weights and biases in order)
    from the feature jets (rows, N, F)."""
    layers = list(params.values())
    return mlp_jets([(layers[2 * i], layers[2 * i + 1]) for i in range(len(layers) // 2)], feature_jets)


def _point_jets(params: dict[str, torch.Tensor], feature_jet: torch.Tensor) -> torch.Tensor:
    """`_block_jets` at one point: feature jet (rows, F) to output jet (rows, K)."""
    return _block_jets(params, feature_jet[:, None, :])[:, 0, :]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case")
    parser.add_argument("--reference", required=True, help="an FD run of the case (errors as the run goes)")
    parser.add_argument("--soap", type=int, default=1000, help="steps of the case's own optimiser first")
    parser.add_argument("--lm", type=int, default=1000, help="Levenberg-Marquardt iterations")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds of Levenberg-Marquardt at most")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a [pinn] setting by its dotted key (repeatable); small networks: J^T J is formed")
    parser.add_argument("--init", default=None, help="a run directory whose networks start this one (e.g. a "
                        "pinn_from_fd.py fit); with --soap 0 the loss weights are the balancer's estimate there")
    parser.add_argument("--blocks", default=None, help="the blocks that move, comma-separated (e.g. flow: the "
                        "Stokes equations with the ions as they are); default all")
    parser.add_argument("--terms", default=None, help="the loss terms in the residual vector, comma-separated, or "
                        "flow / ions: that part's own terms (losses.own_terms; flow: the Stokes problem that "
                        "validation/flow_from_ions.py solves with FD); default all")
    parser.add_argument("--block-diagonal", action="store_true",
                        help="keep J^T J block-diagonal over the four networks (their couplings dropped)")
    parser.add_argument("--out", default=None, help="a new run directory for the networks LM leaves (a checkpoint "
                        "and the case, as pinn_from_fd.py writes; e.g. for flow_from_ions.py); refused if it exists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else None
    if out is not None and out.exists():
        raise SystemExit(f"pinn_gauss_newton: {out} exists; choose a new --out")
    case = load_case(args.case)
    changes = {key: parse_value(value) for key, value in (item.split("=", 1) for item in args.set)}
    settings = replace(case.pinn, {**changes, "seed": args.seed, "threads": args.threads})
    torch.set_num_threads(args.threads)
    trainer = Trainer(ChannelTask(case, settings, read_run(args.reference)), settings)
    if args.init:
        trainer.warm_start(load_checkpoint(Path(args.init)))
    if args.soap == 0:  # no steps: the weights from the balancer's updates at the start state alone
        terms = trainer._terms(trainer.points)
        grads = trainer.term_gradients(terms)
        for step in range(50):
            _, trainer.balance = trainer.balancer.update(trainer.balance, step, terms.detach(), grads)
    start = time.perf_counter()
    for step in range(args.soap):
        trainer.train_step()
        if step % 500 == 0:
            print(f"{settings.optimizer.name} {step:6d}  {time.perf_counter() - start:6.0f} s", flush=True)

    def errors() -> str:
        return " ".join(f"{k} {v:.2e}" for k, v in trainer.evaluate(trainer.model).items())

    print(f"after {args.soap} steps: {errors()}", flush=True)
    trainer.dtype = torch.float64
    trainer.model.to(dtype=torch.float64)
    trainer._use_points(type(trainer.points).from_state_dict(trainer.points.state_dict(), trainer.device, torch.float64))
    trainer.evaluate = trainer.task.evaluator(trainer.device, torch.float64)
    if args.terms in ("flow", "ions"):
        terms = tuple(own_terms(args.terms, trainer.term_names))
    else:
        terms = tuple(args.terms.split(",")) if args.terms else None
    residual = WeightedResiduals(trainer, tuple(args.blocks.split(",")) if args.blocks else None, terms)
    theta = residual.flat()
    probe = torch.randn(theta.shape, dtype=theta.dtype, generator=torch.Generator().manual_seed(0))
    exact = jvp(residual, (theta,), (probe,))[1]
    start_jacobian = residual.jacobian(theta)
    formed = start_jacobian @ probe
    mismatch = float((formed - exact).norm() / exact.norm())
    print(f"{theta.numel()} parameters, {exact.numel()} residual rows; J·v against forward mode: {mismatch:.1e}",
          flush=True)
    if mismatch > 1e-8:
        raise SystemExit("pinn_gauss_newton: the formed Jacobian is wrong (a term is not point by point?)")

    def monitor(flat: torch.Tensor) -> str:
        residual.load(flat)
        return errors()

    with torch.no_grad():
        before = float(residual(theta).square().sum())
    print(f"weighted loss before LM {before:.3e}", flush=True)
    theta = levenberg_marquardt(residual, residual.jacobian, theta, args.lm, args.budget,
                                log=lambda text: print(text, flush=True), log_every=5, monitor=monitor,
                                blocks=residual.block_slices() if args.block_diagonal else None,
                                first_jacobian=start_jacobian)  # formed for the J·v check above
    residual.load(theta)
    with torch.no_grad():
        after = float(residual(theta).square().sum())
    print(f"final: {errors()}")
    if out is not None:
        trainer.model.to(dtype=torch.float32)
        trainer.dtype = torch.float32
        out.mkdir(parents=True)
        shutil.copyfile(Path(args.reference) / "case.toml", out / "case.toml")
        save_checkpoint(trainer.state(), out / "checkpoint.pt")
    return {"jacobian_mismatch": mismatch, "loss_before": before, "loss_after": after, "rows": exact.numel(),
            "model": trainer.model}


if __name__ == "__main__":
    main()
