"""Study "pinn_heldout": the PINN's default recipe on cases it was never measured or tuned on.

The 2D recipe (`[pinn] recipe = "auto"`, eofpinn/cases/pinn_settings.py) was chosen lever by lever
on the shipped cases, so meeting their targets does not show that it holds on a user's own case.
The cases here (validation/heldout/*.toml) are kept out of that loop: no setting was chosen by
looking at them, and none may be. Each is run as a user would, `eofpinn solve CASE --solver pinn
--seed S`, and judged like the shipped 2D cases (validation/pinn_targets.py, whose machinery this
uses): against FD on the case's grid with every cell halved, ψ, c±, u, v within 1e-2 and p within
3e-2 (relative L2), flux spreads from `eofpinn validate` without a reference.

- issue_asym: the 2D case issue 15 opened with (unlike walls, low ζ̂, Ê = 1, ε = 0.04).
- thin_patterned: patterned_zeta with layers a third as thick and −75 mV patches.
- step_backpressure: a −75 → −25 mV step between reservoirs against a 200 Pa back-pressure.
- unequal_patches: three unequal bottom patches under a uniform top wall, ℓ = 4, field and pressure
  drop together (written after the recipe's tenth revision, which issue_asym led to).
- overlapping_patterned: overlapping layers (ε = 0.2), both walls patterned out of step, NaCl
  (likewise written after the tenth revision).

    python validation/pinn_heldout.py [--seeds 2] [--cases issue_asym] [--threads 1] [--finished-only]

Prints the tables and writes the section `pinn_heldout` of validation/RESULTS.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `validation.*`, eofpinn

from validation import pinn_study  # noqa: E402
from validation.pinn_targets import REPO, Suite, main as tabulate  # noqa: E402

HELDOUT = Suite(
    "pinn_heldout", REPO / "validation" / "heldout",
    {"issue_asym": ("fields", 1e-2), "thin_patterned": ("fields", 1e-2), "step_backpressure": ("fields", 1e-2),
     "unequal_patches": ("fields", 1e-2), "overlapping_patterned": ("fields", 1e-2)},
    "PINN on held-out cases (validation/heldout: no recipe setting was chosen on them) with the default recipe "
    "(`eofpinn solve CASE --solver pinn`)")


def main(argv: list[str] | None = None) -> list[dict]:
    return tabulate(argv, HELDOUT, __doc__.splitlines()[0])


if __name__ == "__main__":
    pinn_study.run_script(main)
