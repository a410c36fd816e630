"""Finite-volume reference solver of the steady PNP–Stokes system (physics.md).

Scheme, module by module:

- grid.py        staggered MAC grid: ψ, c±, P at cell centres, u on vertical faces, v on
                 horizontal faces; uniform in x or tanh clustered towards the ζ̂ jumps
                 (β = FDSettings.edge_stretch; reservoir ends: cells centred on the output
                 nodes; periodic ends: cell faces on the nodes), tanh clustered at both
                 walls in y (β = FDSettings.wall_stretch).
- layout.py      the unknown vector (ψ, c₊, c₋, u, v, P, gauge multipliers) and lattice positions.
- boundary.py    wall / reservoir / periodic boundary data (physics.md §3) as grid arrays.
- fluxes.py      Scharfetter–Gummel (exponentially fitted) ion fluxes including advection,
                 second-order one-sided wall gradients, difference operators.
- residual.py    the conservative finite-volume residual of Poisson, NP±, excess-pressure
                 Stokes (optionally with inertia) and continuity, plus the gauge rows
                 (Lagrange multipliers) of physics.md §3; full and paper models. Written once
                 against ops.py, it runs on numpy, torch and `Stencil` arrays.
- stencil.py,    exact sparse Jacobian by sparse forward-mode AD ("stencil AD"): one residual
  jacobian.py    evaluation yields every (row, column, value); scatter cached per grid.
- ordering.py,   sparse LU (SuperLU) on a geometric nested-dissection ordering;
  linear.py
- newton.py      damped Newton (Armijo), row equilibration, LU reuse via preconditioned GMRES.
- initial.py,    starts: column-wise 1D Poisson–Boltzmann profile; coarse-grid solution
  prolong.py     (grid sequencing above 4096 cells).
- output.py      staggered unknowns → node fields of a `Solution` (φ, ψ, c±, u, v, p = P + Π).
- diagnostics.py cross-section ion/volume fluxes and discrete ∇·u (conservation checks).
- sources.py     equation locations and the source terms a manufactured solution needs
                 (from physics/residuals.py); the manufactured solutions themselves and the
                 independent Jacobians live in eofpinn/verification.
- solver.py      `solve_fd` (Case → Solution), `solve_system` (grid + optional sources),
                 continuation in ζ̂ when a direct start fails.

Unknowns are ψ (the EDL potential; ∇φ = ∇ψ − Ê e_x), c± themselves (not log or Slotboom
variables: the SG flux is linear in c±, so the transport operator Newton sees is linear in
the unknowns it acts on, and concentrations of 1e-3 … 1e3 need no special care in double
precision), u, v and the excess pressure P = p − Π.
"""

from eofpinn.solvers.fd.solver import SCHEME, solve_fd, solve_system

__all__ = ["solve_fd", "solve_system", "SCHEME"]
