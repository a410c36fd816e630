"""PINN solver of the steady PNP–Stokes system (method.md): `solve_pinn(case)` → Solution.

Modules, in the order data flows through them:
- networks.py     input embedding (affine / exactly periodic / Fourier / wall-layer) + S = 4
                  tanh MLP blocks (ψ; c₊; c₋; flow → u, v, P), plain and Taylor-mode forward
                  (the one MLP with jets, also used by the 1D studies);
- derivatives.py  second-order jets (f, f_x, f_y, f_xx, f_yy): Taylor mode, nested autograd,
                  and the jet algebra (products, exp, wall functions);
- formulation.py  raw outputs → ψ, c±, u, v, P (hard walls, Slotboom/log ions, excess P);
                  an open circuit's trainable field Ê;
- collocation.py  interior points clustered in the wall bands, wall and end points, targets;
- losses.py       one mean square per PDE residual (physics.residuals) and per BC group,
                  and an open circuit's zero_current term;
- evaluation.py   fields on a grid, per-field relative L2 errors, the paper's mean;
- optimizers.py   registry of optimisers (SOAP of soap.py, Adam, L-BFGS), learning-rate schedule;
- balancing.py    registry of loss balancers (GN, LRA, ReLoBRaLo, none), explicit state;
- conflict.py     per-term gradients, gradient alignment score and pairwise cosines;
- trainer.py      the one training loop (any task), observers, NaN guard, progress bar;
- channel.py      the 2D channel as a training task, and `solve_pinn`.

Files (checkpoints, history, snapshots, plots) are written by observers in eofpinn/pinn_runs.py.
"""

from eofpinn.solvers.pinn.channel import ChannelTask, solve_pinn

__all__ = ["ChannelTask", "solve_pinn"]
