"""PINN solver of the steady PNP–Stokes system (method.md): `solve_pinn(case, settings, out_dir)`.

Modules, in the order data flows through them:
- networks.py     input embedding (affine / exactly periodic / Fourier / wall-layer) + S = 4
                  tanh MLP blocks (ψ; c₊; c₋; flow → u, v, P), plain and Taylor-mode forward;
- derivatives.py  second-order jets (f, f_x, f_y, f_xx, f_yy): Taylor mode, nested autograd,
                  and the jet algebra (products, exp, wall functions);
- formulation.py  raw outputs → ψ, c±, u, v, P (hard walls, Slotboom/log ions, excess P);
- collocation.py  interior points clustered in the wall bands, wall and end points, targets;
- losses.py       one mean square per PDE residual (physics.residuals) and per BC group;
- optimization.py SOAP (soap.py) or Adam, learning-rate schedule;
- weighting.py    GN / LRA / none loss weights (per-term gradients on update steps only),
                  gradient-conflict diagnostics (alignment score, pairwise cosines);
- evaluation.py   fields on a grid, per-field relative L2 errors, the paper's mean;
- checkpoint.py   atomic, exactly resumable checkpoints;
- records.py      history.csv and the loss/error/gradient-conflict plots;
- snapshots.py    fields during training as .vts files and a .pvd collection;
- training.py     the step loop, NaN guard, progress bar and `solve_pinn`.
"""

from eofpinn.solvers.pinn.training import solve_pinn

__all__ = ["solve_pinn"]
