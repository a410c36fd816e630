"""Patterned walls: recirculation cells over wall patches of opposite zeta (finite differences).

    python examples/patterned_flow.py
"""

import numpy as np
from scipy.integrate import cumulative_trapezoid

from eofpinn import load_case, solve

case = load_case("patterned_zeta")      # a shipped case: -50/+25 mV patches, periodic channel
solution = solve(case, nx=81, ny=82)    # a coarser grid than the case's 161 × 162: seconds
u, y = solution["u"], solution.y        # dimensionless: velocities in U0, lengths in H

flow_rate = np.trapezoid(u, y, axis=1).mean()             # Q = ∫ u dy (the same at every x)
stream = cumulative_trapezoid(u, y, axis=1, initial=0.0)  # stream function Ψ = ∫_0^y u dy'
# Streamlines below both wall values of Ψ (0 and Q) close on themselves: the cell at the bottom
# wall over the +25 mV patch, where the flow near the wall runs backwards. Its flux:
recirculation = min(0.0, flow_rate) - stream.min()

per_depth = case.scalings.velocity_scale_m_s * case.scalings.height_m  # U0 H in m^2/s
print(f"flow rate      {flow_rate:.4e} U0 H = {flow_rate * per_depth:.3e} m^2/s per metre of depth")
print(f"recirculation  {recirculation:.4e} U0 H = {100 * recirculation / abs(flow_rate):.2f} % of the flow rate, "
      f"peak backflow {u.min():.3e} U0")
