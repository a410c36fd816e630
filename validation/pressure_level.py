"""Where a run's pressure level comes from: p against a reference, with and without its constant.

A periodic channel fixes p only up to a constant; the gauge (physics.md §3) takes it from the mean
of P = p − Π over the outlet section x = ℓ, Π = Σ(c − 1)/(2ε²) for a 1:1 salt ((c₊ + c₋ − 2)/(2ε²)).
Π multiplies the salt's error on that one section by 1/(2ε²), so a run whose pressure field is
right can still be off in p by a constant. This script says how much of p's error is that
constant, and where on the outlet section it comes from:

- p's relative L2 error, the same with the area mean of p − p_ref left out (`eofpinn validate`'s
  `p_shape`), and that mean;
- on the outlet section: p − p_ref (nearly constant where p itself is right), P − P_ref and
  Π − Π_ref at a few heights, and the section means of P (zero in both by the gauge) and of Π;
- along each wall and along mid-height: the first cosine harmonic over x (period ℓ, the patterns'
  own period) of Π, the run's and the reference's: how strongly the field piles salt up along
  the walls' double layers, and how much of it the run has.

Errors on the run's own output grid, the reference interpolated onto it (as `eofpinn validate`).

    python validation/pressure_level.py RUN_DIR REFERENCE_DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from eofpinn import io
from eofpinn.physics.exact import osmotic_pressure
from eofpinn.solution import trapezoid_weights
from eofpinn.validation.compare import field_errors, on_grid


def first_harmonic(x: np.ndarray, values: np.ndarray) -> float:
    """a₁ of values(x) ≈ a₀ + a₁ cos(2πx/ℓ) + …, ℓ = x[-1] − x[0], by the trapezoid rule."""
    length = x[-1] - x[0]
    return float(2.0 * np.trapezoid(values * np.cos(2.0 * np.pi * (x - x[0]) / length), x) / length)


def pressure_level(run_dir: Path, reference_dir: Path) -> dict:
    run, reference = io.read_run(run_dir), io.read_run(reference_dir)
    ref = on_grid(reference, run.x, run.y, {"P": reference.excess_pressure})
    problem = run.case.problem
    pi_run = osmotic_pressure(problem, run["c_plus"], run["c_minus"])
    pi_ref = osmotic_pressure(problem, ref["c_plus"], ref["c_minus"])
    weights = trapezoid_weights(run.x, run.y)
    level = float(np.sum(weights * (run["p"] - ref["p"])) / np.sum(weights))
    errors = field_errors(run, reference)
    out = {"p": errors["p"]["relative_l2"], "p_shape": errors["p_shape"]["relative_l2"], "level": level,
           "outlet": {"y": run.y, "p": run["p"][-1] - ref["p"][-1], "P": run.excess_pressure[-1] - ref["P"][-1],
                      "Pi": pi_run[-1] - pi_ref[-1]},
           "outlet_mean_P": (float(np.trapezoid(run.excess_pressure[-1], run.y)),
                             float(np.trapezoid(ref["P"][-1], run.y))),
           "outlet_mean_Pi": (float(np.trapezoid(pi_run[-1], run.y)), float(np.trapezoid(pi_ref[-1], run.y))),
           "harmonics": {}}
    middle = int(np.argmin(np.abs(run.y - 0.5)))
    for name, j in (("bottom wall", 0), ("mid-height", middle), ("top wall", run.y.size - 1)):
        out["harmonics"][name] = (first_harmonic(run.x, pi_run[:, j]), first_harmonic(run.x, pi_ref[:, j]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("reference_dir", type=Path)
    args = parser.parse_args()
    found = pressure_level(args.run_dir, args.reference_dir)
    print(f"p: relative L2 {found['p']:.3e}; with its constant left out (p_shape) {found['p_shape']:.3e}; "
          f"that constant (area mean of p − p_ref) {found['level']:+.4f}")
    section = found["outlet"]
    print("outlet section x = ℓ, run − reference:")
    print(f"  {'y':>7}{'p':>10}{'P':>10}{'Π':>10}")
    for j in np.unique(np.searchsorted(section["y"], [0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9,
                                                      0.95, 0.98, 0.995, 1.0]).clip(0, section["y"].size - 1)):
        print(f"  {section['y'][j]:>7.3f}{section['p'][j]:>+10.3f}{section['P'][j]:>+10.3f}{section['Pi'][j]:>+10.3f}")
    print("  section means, run / reference: P {:+.2e} / {:+.2e}, Π {:+.4f} / {:+.4f}".format(
        *found["outlet_mean_P"], *found["outlet_mean_Pi"]))
    print("first cosine harmonic of Π over x, run / reference:")
    for name, (mine, theirs) in found["harmonics"].items():
        share = f" ({mine / theirs:.2f} of it)" if abs(theirs) > 0 else ""
        print(f"  {name:<12}{mine:>+9.3f} / {theirs:+.3f}{share}")


if __name__ == "__main__":
    main()
