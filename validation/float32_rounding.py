"""How far float32 rounding lifts a PINN run's loss terms above their own values.

Takes the checkpoint of a run directory and evaluates every loss term at the run's own
collocation points four ways: in float32 (what training sees) and float64 (the terms' values,
to ~1e-16 of the largest part of each), each with the ions' brackets ∇c± + ẑ±c±∇φ written out
("expanded") and formed from the Slotboom exponent ("slotboom", [pinn.formulation]
ion_brackets). Then the same after `PINNModel.recentre_ions` has moved the free constant of both
exponents (limit 0, as a recentring during training would): the gauged fields do not change, so a
term that moves is rounding. Prints the ions' free constants ln⟨c± e^{ẑ±ψ}⟩ at the checkpoint
(with periodic ends and no-flux walls), then one row per evaluation, one column per loss term.

    python validation/float32_rounding.py RUN_DIR

The run must use Slotboom ions (the default). docs/method.md ("When to move it", "Residuals below
float32's rounding") quotes this script on the final checkpoint of a default
nanochannel_conductance run (`eofpinn solve nanochannel_conductance --solver pinn`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: eofpinn

from eofpinn.cases import load_case  # noqa: E402
from eofpinn.cases.pinn_settings import recorded_settings, replace  # noqa: E402
from eofpinn.pinn_runs import load_checkpoint  # noqa: E402
from eofpinn.solvers.pinn.channel import ChannelTask  # noqa: E402


def evaluations(run_dir: Path) -> list[tuple[str, dict[str, float]]]:
    """(label, {term: value}) for each dtype × brackets, as trained and recentred."""
    state = load_checkpoint(run_dir / "checkpoint.pt")
    settings = recorded_settings(state["settings"])
    case = load_case(run_dir / "case.toml")
    rows = []
    for brackets in ("expanded", "slotboom"):
        chosen = replace(settings, {"formulation.ion_brackets": brackets})
        task = ChannelTask(dataclasses.replace(case, pinn=chosen), chosen)
        for dtype in (torch.float32, torch.float64):
            model = task.build_model(torch.Generator().manual_seed(0)).to(dtype)
            model.load_state_dict(state["model"])
            sampled = task.sample(torch.Generator().manual_seed(0))
            points = type(sampled).from_state_dict(state["points"], torch.device("cpu"), dtype)
            task.bind(model, points)
            if dtype == torch.float64 and brackets == "expanded" and model.gauge_points["content"] is not None:
                print("ions' free constants ln⟨c± e^{ẑ±ψ}⟩ at the checkpoint: "
                      + " / ".join(f"{value:.2f}" for value in model.ion_exponent_constants().values()))
            for moved in (False, True):
                if moved:
                    model.recentre_ions(limit=0.0)
                with torch.no_grad():
                    terms = {k: float(v) for k, v in task.loss_terms(model, points).items()}
                rows.append((f"{brackets} {str(dtype).removeprefix('torch.')}{' recentred' if moved else ''}", terms))
    return rows


def main(argv: list[str] | None = None) -> list[tuple[str, dict[str, float]]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    args = parser.parse_args(argv)
    rows = evaluations(args.run)
    names = list(rows[0][1])
    print(f"{args.run} (step {load_checkpoint(args.run / 'checkpoint.pt')['step']})")
    widths = [max(11, len(n)) + 1 for n in names]
    print(f"{'':28s}" + "".join(f"{n:>{w}s}" for n, w in zip(names, widths)))
    for label, terms in rows:
        print(f"{label:28s}" + "".join(f"{terms[n]:{w}.2e}" for n, w in zip(names, widths)))
    return rows


if __name__ == "__main__":
    main()
