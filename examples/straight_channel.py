"""Straight nanochannel: the finite-difference solution against the exact one (physics.md §4).

    python examples/straight_channel.py
"""

import numpy as np

from eofpinn import load_case, solve

case = load_case("straight_channel")            # a shipped case: 10 mM KCl, 30 nm, zeta -50 mV
fd = solve(case, nx=17)                         # finite differences (the default solver), 17 × 162 nodes
exact = solve(case, "exact", nx=17, ny=2001)    # the closed form, on a fine grid across the channel

errors = {}
for name in ("psi", "c_plus", "c_minus", "u"):  # the exact fields depend on y only
    reference = np.interp(fd.y, exact.y, exact[name][0])
    errors[name] = np.max(np.abs(fd[name] - reference)) / np.max(np.abs(reference))
    print(f"{name:8s} max relative error {errors[name]:.3e}")
print(f"largest  max relative error {max(errors.values()):.3e}")
