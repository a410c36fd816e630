"""Verification helpers: what tests and studies use to check the solvers, never a solve itself.

- jacobians.py       independent Jacobians of the FD residual (central differences, coloured AD);
- manufactured.py    manufactured solutions of the FD order-of-accuracy tests and study;
- fd_convergence.py  grid refinement, Richardson errors and observed orders (FD study and tests).
"""
